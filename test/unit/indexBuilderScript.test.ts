import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";

/**
 * Runs components/scripts/build-soci-index.sh for real under bash and jq, with stand-ins for skopeo, soci and the ECR
 * credential helper that record their arguments; the skopeo stand-in writes an OCI layout whose manifests carry the
 * layer media types a test chooses. What this proves: the script's control flow (preflight, auth file, zstd refusal
 * across every platform, the exact copy/convert/push command lines, the summary, cleanup). What it does not: that
 * soci converts an image; the node lab runs the same script with the real skopeo and soci (lab/lib/index-builder.sh).
 */
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const SCRIPT = path.join(REPO_ROOT, "components/scripts/build-soci-index.sh");
const REGISTRY = "123456789012.dkr.ecr.us-west-2.amazonaws.com";
const SRC = `${REGISTRY}/ml/trainer@sha256:${"a".repeat(64)}`;
const DST = `${REGISTRY}/ml/trainer-soci:v1-soci`;

let dir: string;

function stub(name: string, body: string): void {
  const file = path.join(dir, "bin", name);
  writeFileSync(file, `#!/usr/bin/env bash\nprintf '%s\\n' "${name} $*" >> "${dir}/calls.log"\n${body}\n`);
  chmodSync(file, 0o755);
}

/**
 * The skopeo stand-in: `copy ... docker://SRC oci:DIR` writes an OCI layout with an image index of one manifest per
 * entry of $LAYER_TYPES_JSON (a JSON array of arrays of layer media types); it also records REGISTRY_AUTH_FILE.
 */
const SKOPEO = `
if [[ "$3" == inspect ]]; then
  if [[ -n "\${BROKEN_PAIRING:-}" ]]; then
    echo '{"manifests":[{"digest":"sha256:m1","annotations":{"com.amazon.soci.index-digest":"sha256:gone"}}]}'
  else
    echo '{"manifests":[{"digest":"sha256:m1","annotations":{"com.amazon.soci.index-digest":"sha256:i1"}},{"digest":"sha256:i1"}]}'
  fi
  exit 0
fi
if [[ "$3" == copy ]]; then
  dest="\${@: -1}"
  [[ -n "\${REGISTRY_AUTH_FILE:-}" ]] && cp "\$REGISTRY_AUTH_FILE" "__DIR__/auth-seen.json"
  if [[ "\$dest" == oci:* ]]; then
    layout="\${dest#oci:}"
    mkdir -p "\$layout/blobs/sha256"
    i=0 list='[]'
    while read -r layers; do
      m=$(jq -n --argjson l "\$layers" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", layers: [$l[] | {mediaType: ., size: 1}]}')
      d=$(printf '%s' "\$m" | sha256sum | cut -d' ' -f1)
      printf '%s' "\$m" > "\$layout/blobs/sha256/\$d"
      list=$(jq --arg d "sha256:\$d" '. + [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d}]' <<<"\$list")
      i=$((i + 1))
    done < <(jq -c '.[]' <<<"\$LAYER_TYPES_JSON")
    idx=$(jq -n --argjson m "\$list" '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: $m}')
    d=$(printf '%s' "\$idx" | sha256sum | cut -d' ' -f1)
    printf '%s' "\$idx" > "\$layout/blobs/sha256/\$d"
    jq -n --arg d "sha256:\$d" '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.index.v1+json", digest: $d}]}' > "\$layout/index.json"
  fi
fi`;

/** The soci stand-in: `--version`, and `convert ... SRC OUT` writes OUT with two zTOCs (as layers of a manifest). */
const SOCI = `
if [[ "$1" == "--version" ]]; then echo "soci version v0.16.1 4f3a2b1"; exit 0; fi
out="\${@: -1}"
mkdir -p "\$out/blobs/sha256"
m='{"schemaVersion":2,"layers":[{"mediaType":"application/octet-stream"},{"mediaType":"application/octet-stream"}]}'
d=$(printf '%s' "\$m" | sha256sum | cut -d' ' -f1)
printf '%s' "\$m" > "\$out/blobs/sha256/\$d"
printf '{"schemaVersion":2,"manifests":[{"digest":"sha256:%s"}]}' "\$d" > "\$out/index.json"`;

const GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";

function run(env: Record<string, string>, platforms: string[][] = [[GZIP, GZIP]]) {
  rmSync(path.join(dir, "calls.log"), { force: true });
  rmSync(path.join(dir, "auth-seen.json"), { force: true });
  rmSync(path.join(dir, "termination-log"), { force: true });
  const r = spawnSync("/bin/bash", [SCRIPT], {
    encoding: "utf8",
    env: {
      PATH: `${path.join(dir, "bin")}:/usr/bin:/bin`,
      SRC_REF: SRC,
      DST_REF: DST,
      SOCI_VERSION: "0.16.1",
      WORK_DIR: path.join(dir, "work"),
      TMPDIR: path.join(dir, "work", "tmp"),
      TERMINATION_LOG: path.join(dir, "termination-log"),
      LAYER_TYPES_JSON: JSON.stringify(platforms),
      ...env,
    },
  });
  const log = path.join(dir, "calls.log");
  const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
  return { status: r.status, stderr: r.stderr, calls };
}

describe("build-soci-index.sh", () => {
  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), "soci-build-"));
    mkdirSync(path.join(dir, "bin"));
    stub("skopeo", SKOPEO.replace("__DIR__", dir));
    stub("soci", SOCI);
    stub("docker-credential-ecr-login", "");
    // soci-eks-prefetch apply: writes the summary it was asked for
    stub("soci-eks-prefetch", `summary="\${@: -1}"
printf '%s' '{"source":"record","platforms":[{"platform":"linux/amd64","prefetchFiles":36,"readBytes":66060288,"spans":63,"spanBytes":132120576}]}' > "$summary"`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("copies the source by digest into a layout, converts it standalone with the exact soci line, pushes every manifest", () => {
    const r = run({});
    assert.equal(r.status, 0, r.stderr);
    const work = path.join(dir, "work");
    assert.deepEqual(r.calls, [
      "soci --version",
      `skopeo --policy ${work}/policy.json copy --all --retry-times 3 --quiet docker://${SRC} oci:${work}/src`,
      `soci --root ${work}/soci-root convert --standalone --format oci-dir --all-platforms --min-layer-size 10485760 --span-size 2097152 ${work}/src ${work}/out`,
      `skopeo --policy ${work}/policy.json copy --all --retry-times 3 --quiet oci:${work}/out docker://${DST}`,
      `skopeo --policy ${work}/policy.json inspect --raw --retry-times 3 docker://${DST}`,
    ]);
    assert.match(r.stderr, /pushed .*trainer-soci:v1-soci \(SOCI index manifest v2\): 2 zTOCs, 0 prefetch artifacts/);
    assert.equal(readFileSync(path.join(dir, "termination-log"), "utf8"), `pushed ${DST} (SOCI index manifest v2): 2 zTOCs, 0 prefetch artifacts\n`);
    // Credentials: the ECR helper for both registries, from an auth file in WORK_DIR; nothing of the node's.
    assert.deepEqual(JSON.parse(readFileSync(path.join(dir, "auth-seen.json"), "utf8")), { credHelpers: { [REGISTRY]: "ecr-login" } });
    assert.ok(!existsSync(path.join(work, "src")) && !existsSync(path.join(work, "out")) && !existsSync(path.join(work, "auth.json")), "work directory emptied");
  });

  it("fails when the pushed image index lost the pairing of an image manifest and its SOCI index", () => {
    const r = run({ BROKEN_PAIRING: "1" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /names 1 SOCI index\(es\) it does not hold after the push/);
  });

  it("options reach soci convert", () => {
    const r = run({ MIN_LAYER_SIZE: "0", SPAN_SIZE: "1048576" });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.calls.some((c) => c.startsWith("soci --root") && c.includes("--min-layer-size 0 --span-size 1048576")), r.calls.join("\n"));
  });

  it("an image whose layers are all zstd, on every platform, fails with a clear message and is not converted", () => {
    const r = run({}, [[ZSTD, ZSTD], [ZSTD]]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /layers: 3, zstd: 3/);
    assert.match(r.stderr, /every layer of .* is zstd-compressed; SOCI can index only gzip or uncompressed layers/);
    assert.ok(!r.calls.some((c) => c.includes(" convert ")), "no convert");
    assert.ok(!r.calls.some((c) => c.includes("docker://" + DST)), "no push");
  });

  it("some zstd layers: warns that they will be pulled eagerly and converts the rest", () => {
    const r = run({}, [[GZIP, ZSTD], ["application/vnd.docker.image.rootfs.diff.tar.gzip"]]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /layers: 3, zstd: 1/);
    assert.match(r.stderr, /WARNING: 1 of 3 layers are zstd-compressed/);
    assert.ok(r.calls.some((c) => c.includes(" convert ")));
  });

  it("lab mode: no credential helper, plain HTTP to both registries", () => {
    const strict = run({ CREDENTIAL_HELPER: "absent" });
    assert.equal(strict.status, 1);
    assert.match(strict.stderr, /docker-credential-absent not found in the builder image/);
    const r = run({ CREDENTIAL_HELPER: "", INSECURE_REGISTRY: "1" });
    assert.equal(r.status, 0, r.stderr);
    const work = path.join(dir, "work");
    assert.ok(r.calls.includes(`skopeo --policy ${work}/policy.json copy --all --retry-times 3 --quiet --src-tls-verify=false docker://${SRC} oci:${work}/src`), r.calls.join("\n"));
    assert.ok(r.calls.includes(`skopeo --policy ${work}/policy.json copy --all --retry-times 3 --quiet --dest-tls-verify=false oci:${work}/out docker://${DST}`), r.calls.join("\n"));
    assert.ok(!existsSync(path.join(dir, "auth-seen.json")), "no auth file without a helper");
  });

  it("refuses a builder image whose soci is another version", () => {
    const r = run({ SOCI_VERSION: "0.15.0" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /the builder image has 'soci version v0\.16\.1 4f3a2b1', this builder was configured for soci 0\.15\.0/);
    assert.deepEqual(r.calls, ["soci --version"]);
  });

  it("refuses a builder image without a tool, naming it", () => {
    const r = run({ PATH: "/nonexistent" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /skopeo not found in the builder image \(PATH=\/nonexistent\); see docs\/index-builder\.md/);
  });

  it("refuses a source that is not pinned by digest, and a destination with a digest", () => {
    let r = run({ SRC_REF: `${REGISTRY}/ml/trainer:v1` });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SRC_REF must be pinned by digest/);
    r = run({ DST_REF: SRC });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /DST_REF must be a tag, not a digest/);
    assert.deepEqual(r.calls, []);
  });

  it("PREFETCH_READS: soci-eks-prefetch apply adds the reads to the converted layout before the push, and the summary says what", () => {
    const reads = path.join(dir, "reads.json");
    writeFileSync(reads, "{}");
    const r = run({ PREFETCH_READS: `${reads}:${reads}` });
    assert.equal(r.status, 0, r.stderr);
    const work = path.join(dir, "work");
    const convert = r.calls.findIndex((c) => c.includes(" convert "));
    assert.equal(r.calls[convert + 1], `soci-eks-prefetch apply --layout ${work}/out --reads ${reads} --reads ${reads} --summary ${work}/prefetch-summary.json`);
    assert.match(r.calls[convert + 2], /^skopeo .* docker:\/\//);
    assert.match(readFileSync(path.join(dir, "termination-log"), "utf8"), /; prefetch \(linux\/amd64\): 36 files, 66060288 bytes read -> 63 spans, 132120576 registry bytes\n$/);
    const missing = run({ PREFETCH_READS: path.join(dir, "absent.json") });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /prefetch reads file .*absent\.json is missing/);
    assert.ok(!missing.calls.some((c) => c.includes("docker://" + DST)), "no push without the prefetch");
  });

  it("a recording's reads: the status says how it ended, after how long, its files and bytes, then the spans", () => {
    const rec = path.join(dir, "reads-record.json");
    const list = path.join(dir, "list.json");
    writeFileSync(list, JSON.stringify({ version: 1, source: "list", files: [{ path: "/x" }] }));
    const files = [
      { path: "/app/a.so", ranges: [[0, 4096], [8192, 4096]] },
      { path: "/app/b.bin", ranges: [[0, 1000]] },
    ];
    writeFileSync(rec, JSON.stringify({ version: 1, source: "record", platform: "linux/amd64", seconds: 30.004, ended: "timeout", endedAs: "time limit reached after 30.0 s", files }));
    const r = run({ STEP: "build", PREFETCH_READS: `${rec}:${list}` });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      readFileSync(path.join(dir, "termination-log"), "utf8"),
      `pushed ${DST} (SOCI index manifest v2): 2 zTOCs, 0 prefetch artifacts; recording (linux/amd64): time limit reached after 30.0 s, 2 files, 9192 bytes read; ` +
        "prefetch (linux/amd64): 36 files, 66060288 bytes read -> 63 spans, 132120576 registry bytes\n",
    );

    // A run that ended by itself with 0 is a normal ending too.
    writeFileSync(rec, JSON.stringify({ version: 1, source: "record", platform: "linux/amd64", seconds: 2.5, ended: "exited 0", endedAs: "exited 0 after 2.5 s", files }));
    assert.equal(run({ STEP: "build", PREFETCH_READS: rec }).status, 0);
    assert.match(readFileSync(path.join(dir, "termination-log"), "utf8"), /; recording \(linux\/amd64\): exited 0 after 2\.5 s, 2 files, 9192 bytes read; prefetch/);

    // Exited non-zero before the limit, without allowNonZeroExit (an older recorder wrote it): refused, nothing pushed.
    writeFileSync(rec, JSON.stringify({ version: 1, source: "record", platform: "linux/amd64", seconds: 0.4, ended: "exited 1", files }));
    const crashed = run({ STEP: "build", PREFETCH_READS: rec });
    assert.equal(crashed.status, 1);
    assert.match(crashed.stderr, /the recording of .*ml\/trainer@sha256:a+ exited 1 after 0\.4 s, before its time limit: a start that failed\. Fix the start \(prefetch\.record\.args or prefetch\.record\.env\), give prefetch\.files instead, or set prefetch\.record\.allowNonZeroExit: true/);
    assert.ok(!crashed.calls.some((c) => c.startsWith("soci-eks-prefetch") || c.includes("docker://" + DST)), crashed.calls.join("\n"));

    // The same, kept on request: the status says so.
    writeFileSync(rec, JSON.stringify({ version: 1, source: "record", platform: "linux/amd64", seconds: 0.4, ended: "exited 1", endedAs: "exited 1 after 0.4 s", allowedNonZeroExit: true, files }));
    assert.equal(run({ STEP: "build", PREFETCH_READS: rec }).status, 0);
    assert.match(readFileSync(path.join(dir, "termination-log"), "utf8"), /; recording \(linux\/amd64\): exited 1 after 0\.4 s \(kept: allowNonZeroExit\), 2 files, 9192 bytes read; prefetch/);
  });

  it("STEP=fetch only copies the source and keeps it; STEP=build converts and pushes that copy", () => {
    const fetch = run({ STEP: "fetch" });
    assert.equal(fetch.status, 0, fetch.stderr);
    assert.equal(fetch.calls.filter((c) => c.startsWith("skopeo")).length, 1);
    assert.ok(!fetch.calls.some((c) => c.includes(" convert ")));
    assert.ok(existsSync(path.join(dir, "work", "src", "index.json")), "the source layout stays for the recording");
    const b = run({ STEP: "build" });
    assert.equal(b.status, 0, b.stderr);
    assert.ok(!b.calls.some((c) => c.includes(`docker://${SRC}`)), "no second copy of the source");
    assert.ok(b.calls.some((c) => c.includes(" convert ")) && b.calls.some((c) => c.includes(`docker://${DST}`)));
    assert.ok(!existsSync(path.join(dir, "work", "src")), "cleaned up after the build");
    assert.match(run({ STEP: "record" }).stderr, /STEP must be all, fetch or build/);
  });

  it("fails, naming the directory, when WORK_DIR cannot be written", () => {
    const r = run({ WORK_DIR: "/proc/soci-work", TMPDIR: "/proc/soci-work/tmp" });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /cannot write \/proc\/soci-work; mount a writable volume there/);
  });
});
