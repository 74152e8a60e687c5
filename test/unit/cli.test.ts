import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { readdirSync, readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { parse as parseToml } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT, sociWiringProblems } from "../helpers/sociWiring";
import { cloudConfigFiles, nodeConfigs, parseMime } from "../helpers/userdata";
import { TEST_ONLY_DIGEST_AMD64 } from "../helpers/options";

const CLI = path.join(REPO_ROOT, "dist/cli/main.js");
/** An x86_64 type, without the release digest. */
const TYPE = ["userdata", "--instance-type", "m7i.xlarge", "--vcpus", "4", "--memory-mib", "16384", "--arch", "x86_64"];
/** {@link TYPE} with the (test-only) digest an AL2023 document of the default release needs. */
const BASE = [...TYPE, "--soci-sha256", TEST_ONLY_DIGEST_AMD64];
/** A type with one NVMe instance-store disk, from the built-in table (no digest: Bottlerocket takes none). */
const SSD_BASE = ["userdata", "--instance-type", "m6id.xlarge"];
const AMD64_DIGEST = ["--soci-sha256", TEST_ONLY_DIGEST_AMD64];
const KARPENTER = ["--karpenter", "--role", "KarpenterNodeRole-prod", "--discovery-tag", "prod"];

function run(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("soci-eks CLI", () => {
  it("prints AL2023 MIME user data that a MIME parser reads and that carries the SOCI wiring", async () => {
    const r = run(BASE);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await sociWiringProblems(r.stdout, "lazy"), []);
  });

  it("passes cluster fields, labels and taints into the NodeConfig", async () => {
    const r = run([
      ...BASE, "--mode", "parallel", "--cluster-name", "c", "--api-server-endpoint", "https://x.gr7.us-west-2.eks.amazonaws.com", "--certificate-authority", "Y2E=",
      "--service-cidr", "10.100.0.0/16", "--label", "team=ml", "--taint", "workload=big:NoSchedule",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [nc] = await nodeConfigs(r.stdout);
    assert.equal(nc.spec.cluster.name, "c");
    assert.deepEqual(nc.spec.kubelet.flags, ["--node-labels=team=ml"]);
    assert.deepEqual(nc.spec.kubelet.config.registerWithTaints, [{ key: "workload", value: "big", effect: "NoSchedule" }]);
  });

  it("--extra-ecr-registry reaches the installer's environment", async () => {
    const r = run([...BASE, "--extra-ecr-registry", "123456789012.dkr.ecr.us-west-2.amazonaws.com", "--extra-ecr-registry", "210987654321.dkr.ecr.eu-west-1.amazonaws.com"]);
    assert.equal(r.code, 0, r.stderr);
    const env = (await cloudConfigFiles(r.stdout)).find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    assert.match(env, /^SOCI_EKS_EXTRA_ECR_REGISTRIES='123456789012\.dkr\.ecr\.us-west-2\.amazonaws\.com 210987654321\.dkr\.ecr\.eu-west-1\.amazonaws\.com'$/m);
  });

  it("prints Bottlerocket TOML", () => {
    const r = run([...SSD_BASE, "--os", "bottlerocket", "--mode", "parallel", "--ssd"]);
    assert.equal(r.code, 0, r.stderr);
    const doc = parseToml(r.stdout) as any;
    assert.equal(doc.settings["container-runtime"].snapshotter, "soci");
    assert.ok(doc.settings["bootstrap-commands"]["k8s-ephemeral-storage"]);
  });

  it("--karpenter prints an EC2NodeClass with the user data, RAID0 left to Karpenter", async () => {
    const r = run([...SSD_BASE, "--ssd", ...AMD64_DIGEST, ...KARPENTER]);
    assert.equal(r.code, 0, r.stderr);
    const nc = parseYaml(r.stdout);
    assert.equal(nc.apiVersion, "karpenter.k8s.aws/v1");
    assert.equal(nc.kind, "EC2NodeClass");
    assert.deepEqual(nc.spec.amiSelectorTerms, [{ alias: "al2023@latest" }]);
    assert.equal(nc.spec.instanceStorePolicy, "RAID0");
    assert.equal(nc.spec.metadataOptions.httpTokens, "required");
    assert.equal(nc.spec.blockDeviceMappings[0].ebs.encrypted, true);
    assert.deepEqual(nc.spec.subnetSelectorTerms, [{ tags: { "karpenter.sh/discovery": "prod" } }]);
    const parts = await parseMime(nc.spec.userData);
    assert.equal(parts[0].contentType, "application/node.eks.aws");
    const [nodeConfig] = await nodeConfigs(nc.spec.userData);
    assert.equal(nodeConfig.spec.instance, undefined, "Karpenter's RAID0 policy builds the array; the NodeConfig must not ask again");
    const files = await cloudConfigFiles(nc.spec.userData);
    assert.ok(
      files.some((f) => f.path === "/etc/systemd/system/kubelet.service.d/10-soci-eks-local-storage.conf"),
      "Karpenter SSD nodes get the kubelet instance-store check too",
    );
  });

  it("--karpenter --keep-soci-on-root-volume: only disabledMounts [SOCI] (nodeadm merges it with Karpenter's RAID0); the check leaves SOCI out", async () => {
    const r = run([...SSD_BASE, "--ssd", "--keep-soci-on-root-volume", ...AMD64_DIGEST, ...KARPENTER]);
    assert.equal(r.code, 0, r.stderr);
    const nc = parseYaml(r.stdout);
    const [nodeConfig] = await nodeConfigs(nc.spec.userData);
    assert.deepEqual(nodeConfig.spec.instance, { localStorage: { disabledMounts: ["SOCI"] } });
    const env = (await cloudConfigFiles(nc.spec.userData)).find((f) => f.path === "/etc/soci-eks/local-storage.env")!.content;
    assert.match(env, /^SOCI_EKS_ARRAY_DIRS='\/var\/lib\/containerd \/var\/lib\/kubelet \/var\/log\/pods'$/m);
  });

  it("--karpenter on Bottlerocket leaves the ephemeral-storage bootstrap command to Karpenter", () => {
    const r = run([...SSD_BASE, "--os", "bottlerocket", "--mode", "parallel", "--ssd", ...KARPENTER]);
    assert.equal(r.code, 0, r.stderr);
    const nc = parseYaml(r.stdout);
    assert.equal(nc.spec.instanceStorePolicy, "RAID0");
    const doc = parseToml(nc.spec.userData) as any;
    assert.equal(doc.settings["bootstrap-commands"]?.["k8s-ephemeral-storage"], undefined);
    assert.equal(doc.settings["container-runtime"].snapshotter, "soci");
  });

  it("help, --help and -h list the commands and exit 0; no arguments prints them on stderr and exits 2", () => {
    for (const args of [["help"], ["--help"], ["-h"]]) {
      const r = run(args);
      assert.equal(r.code, 0, args.join(" "));
      assert.match(r.stdout, /^Usage: soci-eks <command> \[options\]/);
      assert.match(r.stdout, /^ {2}userdata /m);
      assert.match(r.stdout, /^ {2}pull-report /m);
    }
    const none = run([]);
    assert.equal(none.code, 2);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /^Usage: soci-eks <command>/);
  });

  it("every command has --help (exit 0, nothing else runs), also as `help <command>`", () => {
    for (const [command, first] of [["userdata", /^Usage: soci-eks userdata --instance-type T/], ["pull-report", /^Usage: soci-eks pull-report \[options\]/]] as const) {
      for (const args of [[command, "--help"], [command, "-h"], ["help", command], [command, "--mode", "fast", "--help"]]) {
        const r = run(args);
        assert.equal(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
        assert.match(r.stdout, first, args.join(" "));
        assert.equal(r.stderr, "");
      }
    }
  });

  it("--version prints package.json's version", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    const r = run(["--version"]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `${pkg.version}\n`);
  });

  it("pull-report is a command of the bin and gives what npm run pull-report's script gives", () => {
    const events = path.join(REPO_ROOT, "test/fixtures/events/eks-1.27.kubectl-events.json");
    const nodes = path.join(REPO_ROOT, "test/fixtures/events/eks-1.27.nodes.json");
    const viaBin = run(["pull-report", "--file", events, "--nodes", nodes, "--json"]);
    const script = (JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts["pull-report"];
    assert.equal(script, "node dist/cli/pullreport/main.js");
    const viaScript = spawnSync(process.execPath, [path.join(REPO_ROOT, "dist/cli/pullreport/main.js"), "--file", events, "--nodes", nodes, "--json"], { encoding: "utf8" });
    assert.equal(viaBin.code, 0, viaBin.stderr);
    assert.equal(viaScript.status, 0, viaScript.stderr);
    assert.ok(JSON.parse(viaBin.stdout).rows.length > 0);
    assert.equal(viaBin.stdout, viaScript.stdout);
    const bad = run(["pull-report", "--bogus"]);
    assert.equal(bad.code, 2);
  });

  it("docs/cli.md's Bottlerocket TOML is the real output, and every CLI command in README.md and docs/ runs", () => {
    const doc = readFileSync(path.join(REPO_ROOT, "docs/cli.md"), "utf8");
    const toml = /```toml\n([\s\S]*?)```/.exec(doc)![1];
    const r = run(["userdata", "--os", "bottlerocket", "--mode", "parallel", "--instance-type", "m6id.2xlarge", "--ssd"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, toml);
    let commands = 0;
    let inReadme = 0;
    const docs = readdirSync(path.join(REPO_ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`);
    for (const file of ["README.md", ...docs]) {
      // The docs show the digest the user pins as a shell variable (docs/security.md, "Release pinning").
      const text = readFileSync(path.join(REPO_ROOT, file), "utf8").replace(/\\\n\s*/g, "").replaceAll('"$SOCI_SHA256"', TEST_ONLY_DIGEST_AMD64);
      for (const m of text.matchAll(/^(?:node dist\/cli\/main\.js|(?:npx )?soci-eks) (userdata [^#;\n>]*)/gm)) {
        const args = m[1].trim().split(/\s+/);
        const out = run(args);
        assert.equal(out.code, 0, `${file}: soci-eks ${args.join(" ")}: ${out.stderr}`);
        commands++;
        if (file === "README.md") inReadme++;
      }
    }
    assert.ok(commands >= 5, `${commands} commands`);
    assert.ok(inReadme >= 2, `${inReadme} commands in README.md`);
  });

  it("an http mirror without a digest is refused like any mirror (exit 2, nothing printed); with one it prints without a warning", () => {
    const r = run([...TYPE, "--mirror", "http://mirror.example/soci"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--soci-sha256 is unset: no sha256 for soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz/);
    assert.equal(r.stdout, "");
    const pinned = run([...BASE, "--mirror", "http://mirror.example/soci"]);
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.equal(pinned.stderr, "");
  });

  it("a version whose digests ship needs no --soci-sha256, and the document carries them", async () => {
    const r = run([...TYPE, "--soci-version", "0.14.1"]);
    assert.equal(r.code, 0, r.stderr);
    const env = (await cloudConfigFiles(r.stdout)).find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    assert.match(env, /^SOCI_EKS_SOCI_SHA256='1a8dba2a14c1ba8b65e0b935ef697e22eb8324759961a65296e656dd724d9441'$/m);
  });

  const usageErrors: [string, string[], RegExp][] = [
    ["unknown mode", [...BASE, "--mode", "fast"], /--mode: 'fast' is not one of lazy, parallel, off\. Set --mode to lazy \(default\), parallel or off\./],
    [
      "keep SOCI on EBS with Karpenter on Bottlerocket",
      [...SSD_BASE, "--os", "bottlerocket", "--mode", "parallel", "--ssd", "--keep-soci-on-root-volume", ...KARPENTER],
      /--keep-soci-on-root-volume: true is not available with --karpenter on Bottlerocket/,
    ],
    ["unknown os", [...BASE, "--os", "windows"], /--os: 'windows' is not one of al2023, bottlerocket/],
    ["a type outside the table without --vcpus", ["userdata", "--instance-type", "x9.huge", "--memory-mib", "1", "--arch", "x86_64"], /--instance-type: 'x9\.huge' is not in the CLI's built-in table .*Pass --vcpus as/],
    ["a type outside the table without --arch", ["userdata", "--instance-type", "x9.huge", "--vcpus", "4", "--memory-mib", "1"], /Pass --arch as `aws ec2 describe-instance-types --instance-types x9\.huge`/],
    ["bad version", [...BASE, "--soci-version", "v0.16.1"], /--soci-version: 'v0\.16\.1' has a leading v\. Drop the v: set --soci-version to 0\.16\.1\./],
    ["bad sha", [...TYPE, "--soci-sha256", "abc"], /--soci-sha256: 'abc' is not a sha256 digest/],
    ["no sha for the default release", TYPE, /--soci-sha256 is unset: no sha256 for soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz.* or set --soci-version to a version whose digests soci-eks ships/],
    ["a sha that differs from the shipped one", [...TYPE, "--soci-version", "0.14.0", "--soci-sha256", "1".repeat(64)], /--soci-sha256: '1{64}' gives soci-snapshotter-0\.14\.0-linux-amd64\.tar\.gz the sha256 1{64}, but soci-eks ships c21e0fa7/],
    ["partial cluster", [...BASE, "--cluster-name", "c"], /--cluster-name: 'c' is one of four cluster fields that go together; missing --api-server-endpoint, --certificate-authority, --service-cidr/],
    ["bad taint", [...BASE, "--taint", "a=b"], /--taint: 'a=b' is not key\[=value\]:Effect/],
    ["bad label without =", [...BASE, "--label", "novalue"], /--label: 'novalue' is not key=value\. Pass --label key=value/],
    ["bad label with an empty key", [...BASE, "--label", "=ml"], /--label: '=ml' is not a valid Kubernetes label/],
    ["bad label with two =", [...BASE, "--label", "team=ml=x"], /--label: 'team=ml=x' is not a valid Kubernetes label/],
    ["lazy on bottlerocket", [...BASE, "--os", "bottlerocket"], /--mode: 'lazy' is not available on Bottlerocket/],
    ["unknown flag", [...BASE, "--colour"], /--colour is not an option of soci-eks userdata\. Run soci-eks userdata --help/],
    ["unknown command", ["frobnicate"], /soci-eks: 'frobnicate' is not a command/],
  ];
  for (const [name, args, message] of usageErrors) {
    it(`usage error, exit 2: ${name}`, () => {
      const r = run(args);
      assert.equal(r.code, 2, r.stdout);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }
});
