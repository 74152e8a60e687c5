import { strict as assert } from "assert";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { spawnSync } from "child_process";
import * as path from "path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { REPO_ROOT, sociWiringProblems } from "../helpers/sociWiring";
import { cloudConfigFiles } from "../helpers/userdata";

const CLI = path.join(REPO_ROOT, "dist/cli/main.js");
/** What every --karpenter run needs besides the node's flags. */
const KARPENTER = ["--karpenter", "--role", "KarpenterNodeRole-prod", "--discovery-tag", "prod"];

/** Runs `soci-eks userdata`; an AL2023 document gets the (test-only) digests of both architectures unless args pin one. */
function run(args: string[]) {
  const pin = args.includes("bottlerocket") || args.includes("--soci-sha256") ? [] : ["--soci-sha256", TEST_ONLY_SOCI_SHA256];
  const r = spawnSync(process.execPath, [CLI, "userdata", ...args, ...pin], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The requirements printed as comments above the EC2NodeClass, parsed as the YAML they quote. */
function requirements(stdout: string): { key: string; operator: string; values?: string[] }[] {
  const lines = stdout.split("\n").filter((l) => l.startsWith("#   ")).map((l) => l.slice(4));
  return parseYaml(lines.join("\n"));
}

describe("soci-eks userdata --karpenter on AL2023: one document for every instance type of a NodePool", () => {
  it("needs no --instance-type/--vcpus/--memory-mib/--arch: the node decides, and the wiring is complete", async () => {
    const r = run(KARPENTER);
    assert.equal(r.code, 0, r.stderr);
    const nc = parseYaml(r.stdout);
    assert.equal(nc.kind, "EC2NodeClass");
    assert.deepEqual(await sociWiringProblems(nc.spec.userData, "lazy"), []);
    const env = (await cloudConfigFiles(nc.spec.userData)).find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    assert.match(env, /^SOCI_EKS_ARCH='auto'$/m);
    assert.match(env, /^SOCI_EKS_TUNING='at-boot'$/m);
    assert.deepEqual(requirements(r.stdout), [{ key: "kubernetes.io/arch", operator: "In", values: ["amd64", "arm64"] }]);
  });

  it("--ssd adds the instance-local-nvme requirement, and the kubelet check lets NVMe-less instances run on the root volume", async () => {
    // parallel: lazy --ssd no longer fits after Karpenter's merge (docs/known-limits.md; userDataSize.test.ts)
    const r = run([...KARPENTER, "--ssd", "--mode", "parallel"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(requirements(r.stdout), [
      { key: "kubernetes.io/arch", operator: "In", values: ["amd64", "arm64"] },
      { key: "karpenter.k8s.aws/instance-local-nvme", operator: "Exists" },
    ]);
    assert.match(r.stdout, /^# An instance without instance-store NVMe would keep .* on its root volume/m);
    const nc = parseYaml(r.stdout);
    const env = (await cloudConfigFiles(nc.spec.userData)).find((f) => f.path === "/etc/soci-eks/local-storage.env")!.content;
    assert.match(env, /^SOCI_EKS_NO_INSTANCE_STORE='root-volume'$/m);
  });

  it("with instance flags it stays a per-type document whose requirement is that architecture", async () => {
    const r = run([...KARPENTER, "--instance-type", "m7g.xlarge"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(requirements(r.stdout), [{ key: "kubernetes.io/arch", operator: "In", values: ["arm64"] }]);
    const env = (await cloudConfigFiles(parseYaml(r.stdout).spec.userData)).find((f) => f.path === "/etc/soci-eks/install.env")!.content;
    assert.match(env, /^SOCI_EKS_ARCH='arm64'$/m);
    assert.doesNotMatch(env, /SOCI_EKS_TUNING/);
  });

  it("still needs the instance flags without --karpenter, and on Bottlerocket", () => {
    assert.equal(run([]).code, 2);
    const br = run([...KARPENTER, "--os", "bottlerocket", "--mode", "parallel"]);
    assert.equal(br.code, 2);
    assert.match(br.stderr, /--instance-type is missing/);
  });
});
