import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "fs";
import { createServer, Server } from "net";
import { tmpdir } from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";

/**
 * Runs components/scripts/build-soci-index.sh for real under bash, with stand-ins for nerdctl, soci and the ECR
 * credential helper that record their arguments, and a real unix socket for containerd. What this proves: the
 * script's control flow (preflight, zstd refusal, the exact convert and push command lines, cleanup). What it does
 * not: that soci converts an image; the node lab runs that line against a real containerd.
 */
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const SCRIPT = path.join(REPO_ROOT, "components/scripts/build-soci-index.sh");
const SRC = `123456789012.dkr.ecr.us-west-2.amazonaws.com/ml/trainer@sha256:${"a".repeat(64)}`;
const DST = "123456789012.dkr.ecr.us-west-2.amazonaws.com/ml/trainer:v1-soci";

let dir: string;
let socket: string;
let server: Server;

/** `nerdctl image inspect --mode=native` output shape: the image's index, manifest and config (trimmed). */
function nativeInspect(layerTypes: string[]): string {
  return JSON.stringify(
    [
      {
        Image: { Name: SRC },
        Manifest: {
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 1000 },
          layers: layerTypes.map((mediaType, i) => ({ mediaType, digest: `sha256:${String(i).repeat(64).slice(0, 64)}`, size: 50_000_000 })),
        },
      },
    ],
    null,
    4,
  );
}

function stub(name: string, body: string): void {
  const file = path.join(dir, "bin", name);
  writeFileSync(file, `#!/usr/bin/env bash\nprintf '%s\\n' "${name} $*" >> "${dir}/calls.log"\n${body}\n`);
  chmodSync(file, 0o755);
}

function run(env: Record<string, string>, layerTypes: string[] = ["application/vnd.oci.image.layer.v1.tar+gzip"]) {
  writeFileSync(path.join(dir, "inspect.json"), nativeInspect(layerTypes));
  rmSync(path.join(dir, "calls.log"), { force: true });
  const r = spawnSync("bash", [SCRIPT], {
    encoding: "utf8",
    env: {
      PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`,
      SRC_REF: SRC,
      DST_REF: DST,
      SOCI_VERSION: "0.16.1",
      WORK_DIR: path.join(dir, "work"),
      CONTAINERD_ADDRESS: socket,
      ...env,
    },
  });
  const log = path.join(dir, "calls.log");
  const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
  return { status: r.status, stderr: r.stderr, calls };
}

describe("build-soci-index.sh", () => {
  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "soci-build-"));
    spawnSync("mkdir", ["-p", path.join(dir, "bin")]);
    socket = path.join(dir, "containerd.sock");
    server = createServer();
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    stub("nerdctl", `if [[ "$*" == *"image inspect"* ]]; then cat "${dir}/inspect.json"; fi`);
    stub("soci", `if [[ "$1" == "--version" ]]; then echo "soci version v0.16.1 4f3a2b1"; fi`);
    stub("docker-credential-ecr-login", "");
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("gzip image: pulls by digest, converts with the exact soci line, pushes all platforms, cleans up", () => {
    const r = run({});
    assert.equal(r.status, 0, r.stderr);
    const ns = `--address ${socket} --namespace soci-eks-build`;
    assert.deepEqual(r.calls, [
      "soci --version",
      `nerdctl ${ns} pull --all-platforms --unpack=false --quiet ${SRC}`,
      `nerdctl ${ns} image inspect --mode=native ${SRC}`,
      `soci ${ns} --content-store containerd --root ${dir}/work/soci-root convert --all-platforms --min-layer-size 10485760 --span-size 2097152 ${SRC} ${DST}`,
      `nerdctl ${ns} push --all-platforms ${DST}`,
      `nerdctl ${ns} rmi --force ${DST}`,
      `nerdctl ${ns} rmi --force ${SRC}`,
    ]);
    assert.match(r.stderr, /pushed .*:v1-soci \(SOCI index manifest v2\)/);
  });

  it("options reach soci convert", () => {
    const r = run({ MIN_LAYER_SIZE: "0", SPAN_SIZE: "1048576", BUILD_NAMESPACE: "other" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.some((c) => c.startsWith("soci --address") && c.includes("--namespace other") && c.includes("--min-layer-size 0 --span-size 1048576")), r.calls.join("\n"));
  });

  it("an image whose layers are all zstd fails with a clear message and is not converted", () => {
    const r = run({}, ["application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.oci.image.layer.v1.tar+zstd"]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /every layer of .* is zstd-compressed; SOCI can index only gzip or uncompressed layers/);
    assert.ok(!r.calls.some((c) => c.includes(" convert ")), "no convert");
    assert.ok(!r.calls.some((c) => c.includes(" push ")), "no push");
    assert.ok(r.calls.some((c) => c.includes(" rmi ")), "cleanup still runs");
  });

  it("some zstd layers: warns that they will be pulled eagerly and converts the rest", () => {
    const r = run({}, ["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+zstd", "application/vnd.docker.image.rootfs.diff.tar.gzip"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /layers: 3, zstd: 1/);
    assert.match(r.stderr, /WARNING: 1 of 3 layers are zstd-compressed/);
    assert.ok(r.calls.some((c) => c.includes(" convert ")));
  });

  it("uses SOCI_BIN and NERDCTL_BIN when set (the Job points them at the node's binaries under /host)", () => {
    const r = run({ SOCI_BIN: path.join(dir, "bin", "soci"), NERDCTL_BIN: path.join(dir, "bin", "nerdctl"), PATH: `/usr/bin:/bin:${path.join(dir, "bin")}` });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.some((c) => c.startsWith("soci --address") && c.includes(" convert ")));
    const missing = run({ NERDCTL_BIN: "/host/usr/bin/nerdctl" });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /\/host\/usr\/bin\/nerdctl not found \(PATH=.*\); is this a soci-eks SOCI node.*Check the builder's hostPaths/);
  });

  it("lab mode: no credential helper required, and --insecure-registry for a plain-HTTP registry", () => {
    rmSync(path.join(dir, "bin", "docker-credential-ecr-login"));
    try {
      // (This machine has Debian's docker-credential-ecr-login in /usr/bin, so name a helper that exists nowhere.)
      const strict = run({ CREDENTIAL_HELPER: "docker-credential-absent" });
      assert.equal(strict.status, 1);
      assert.match(strict.stderr, /docker-credential-absent not found/);
      const r = run({ CREDENTIAL_HELPER: "", INSECURE_REGISTRY: "1" });
      assert.equal(r.status, 0, r.stderr);
      const ns = `--address ${socket} --namespace soci-eks-build`;
      assert.ok(r.calls.includes(`nerdctl ${ns} pull --insecure-registry --all-platforms --unpack=false --quiet ${SRC}`), r.calls.join("\n"));
      assert.ok(r.calls.includes(`nerdctl ${ns} push --insecure-registry --all-platforms ${DST}`), r.calls.join("\n"));
    } finally {
      stub("docker-credential-ecr-login", "");
    }
  });

  it("refuses a node whose soci is another version", () => {
    const r = run({ SOCI_VERSION: "0.15.0" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /node has 'soci version v0\.16\.1 4f3a2b1', this builder was configured for soci 0\.15\.0/);
    assert.deepEqual(r.calls, ["soci --version"]);
  });

  it("refuses a node without the soci CLI, naming it", () => {
    const r = run({ PATH: `/usr/bin:/bin` });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /(soci|nerdctl|docker-credential-ecr-login) not found \(PATH=\/usr\/bin:\/bin\); is this a soci-eks SOCI node/);
  });

  it("refuses a source that is not pinned by digest, and a destination with a digest", () => {
    let r = run({ SRC_REF: "123456789012.dkr.ecr.us-west-2.amazonaws.com/ml/trainer:v1" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SRC_REF must be pinned by digest/);
    r = run({ DST_REF: SRC });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /DST_REF must be a tag, not a digest/);
    assert.deepEqual(r.calls, []);
  });

  it("fails when the containerd socket is not there", () => {
    const r = run({ CONTAINERD_ADDRESS: path.join(dir, "absent.sock") });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /containerd socket .*absent\.sock is not mounted/);
  });
});
