import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, it } from "node:test";

// lab/lib/bench-rows.sh's pure helpers, run by bash: what each bench row and rate string means.
const REPO = path.resolve(__dirname, "..", "..", "..");
const ROWS = path.join(REPO, "lab", "lib", "bench-rows.sh");
const WORKLOADS = path.join(REPO, "lab", "lib", "bench-workloads.sh");

function sh(script: string): { code: number; out: string } {
  const r = spawnSync("bash", ["-c", `set -euo pipefail; log() { echo "LOG $*" >&2; }; DEFAULT_SPAN_MIB=2; TUNE_VCPUS=2; REPO_DIR="${path.join(REPO, "dist")}/.."; . "${ROWS}"; ${script}`], { encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout.trim() };
}

describe("bench rows (lab/lib/bench-rows.sh)", () => {
  it("rates: gbit, mbit and kbit are decimal bits per second, a plain number is bytes per second", () => {
    assert.equal(sh("bytes_per_s 1gbit").out, "125000000");
    assert.equal(sh("bytes_per_s 125mbit").out, "15625000");
    assert.equal(sh("bytes_per_s 8kbit").out, "1000");
    assert.equal(sh("bytes_per_s 4096").out, "4096");
  });

  it("each row boots the user data of its mode; an unknown row or a malformed probe is refused", () => {
    const rows = "off off-tuned parallel parallel-d20u2 parallel-w parallel-d3u1-w parallel-c64 parallel-igzip peer lazy lazy-s1 lazy-bg lazy-nobg lazy-pf lazy-pf-rr30 lazy-nosync lazy-dbmulti lazy-pre21";
    const modes = sh(`for r in ${rows}; do row_mode $r; done`).out.split("\n");
    assert.deepEqual(modes, ["off", "off", ...Array(7).fill("parallel"), ...Array(9).fill("lazy")]);
    assert.notEqual(sh("row_mode fast").code, 0);
    assert.notEqual(sh("row_mode parallel-fast").code, 0);
    assert.notEqual(sh("row_mode parallel-w-c8").code, 0);
  });

  it("lazy rows pull the builder's default span unless they name one; prefetch rows pull the prefetch index", () => {
    assert.deepEqual(sh("for r in lazy lazy-s4 lazy-s1 lazy-bg lazy-pf lazy-pf-rr30 lazy-rr30 lazy-rec; do row_index $r; done").out.split("\n"), ["2", "4", "1", "2", "2-pf", "2-pf", "2", "2-rec"]);
  });

  it("parallel probes: downloads/unpacks per image, chunk size or whole layers, igzip", () => {
    const probe = (r: string) => sh(`parallel_probe ${r}`).out;
    assert.equal(probe("parallel-d4u2"), "4 2 - -");
    assert.equal(probe("parallel-d3u1-w"), "3 1 whole -");
    assert.equal(probe("parallel-c64-igzip"), "- - 64 igzip");
    assert.equal(probe("parallel-igzip"), "- - - igzip");
    assert.match(sh("row_label parallel-d3u1-w-igzip").out, /^soci parallel, 3\/1 downloads\/unpacks per image, whole-layer downloads, igzip$/);
    assert.match(sh("row_label parallel-c64").out, /^soci parallel, 64 MiB chunks$/);
  });

  it("rows' SOCI edits: what each row changes, in the config editor's syntax", () => {
    const edits = (r: string) => sh(`row_soci_edits ${r}`).out;
    assert.equal(edits("lazy"), "");
    assert.equal(edits("lazy-pf"), "");
    assert.equal(edits("lazy-pf-rr30"), "resolve_result_entry = 30");
    assert.equal(edits("lazy-nosync"), "metadata_db_no_sync = true");
    assert.equal(edits("lazy-dbmulti"), 'metadata_store = "db-multi"');
    assert.equal(edits("lazy-pre21"), "resolve_result_entry\nprefetch");
    assert.equal(edits("lazy-bg"), "background_fetch.silence_period_msec = 1\nbackground_fetch.fetch_period_msec = 50", "1 ms: 0 means SOCI's 30 s default");
    const p = "pull_modes.parallel_pull_unpack";
    assert.equal(edits("parallel-d3u1-w"), `${p}.max_concurrent_downloads_per_image = 3\n${p}.max_concurrent_downloads = 6\n${p}.max_concurrent_unpacks_per_image = 1\n${p}.max_concurrent_unpacks = 2\n${p}.concurrent_download_chunk_size`);
    assert.equal(edits("parallel-c64-igzip"), `${p}.concurrent_download_chunk_size = "64mb"\n${p}.decompress_streams.gzip.path = "/usr/bin/igzip"`);
    assert.notEqual(sh("row_soci_edits parallel-x").code, 0);
  });

  it("conditions: what the counting proxy is told, without shaping anything; an unknown one is refused", () => {
    assert.equal(sh("condition_params ecr; echo \"$COND_RATE $COND_CONN_RATE $COND_TTFB_MS|$COND_LABEL\"").out, "125000000 85000000 100|1gbit link, ECR-like: 85 MB/s per connection, +100 ms per request");
    assert.equal(sh("BENCH_TTFB_MS=7 condition_params ttfb; echo \"$COND_CONN_RATE $COND_TTFB_MS\"").out, "0 7");
    assert.notEqual(sh("condition_params wan").code, 0);
  });

  it("a recorded index is named by its recording: its cache directory and tag change with it; none without one", () => {
    const wl = (script: string) => sh(`CACHE=/c; . "${WORKLOADS}"; ${script}`);
    assert.equal(wl("wl_index_dir ref 2").out, "/c/images/bench-ref-soci-s2");
    assert.equal(wl("wl_index_tag big 2-pf").out, "v1-soci-s2-pf");
    assert.equal(wl("WL_REC_ID[ref]=0123456789ab; wl_index_dir ref 2-rec; wl_index_tag ref 2-rec").out, "/c/images/bench-ref-soci-s2-rec-0123456789ab\nv1-soci-s2-rec-0123456789ab");
    assert.notEqual(wl("wl_index_dir ref 2-rec").code, 0, "no recording, no recorded index");
  });

  it("a recording is cached per image digest and recorder: reused when both match, made again when either changes", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wl-record-"));
    try {
      // a stand-in recorder (counts its calls, writes a reads file; RECORDER_FAIL=1: fails) and runc
      fs.mkdirSync(path.join(dir, "bin"));
      fs.mkdirSync(path.join(dir, "cache", "images", "bench-ref"), { recursive: true });
      fs.mkdirSync(path.join(dir, "logs"));
      const recorder = path.join(dir, "bin", "soci-eks-prefetch");
      fs.writeFileSync(recorder, `#!/bin/bash
echo "$*" >>"${dir}/calls"
[[ \${RECORDER_FAIL:-0} == 0 ]] || { echo "[soci-eks-prefetch] ERROR: the container read no file" >&2; exit 1; }
while (($#)); do [[ $1 == --out ]] && out=$2; shift; done
echo '{"version":1,"source":"record","files":[{"path":"/data/L01/f000.bin","ranges":[[0,4096]]}]}' >"$out"
echo "[soci-eks-prefetch] recorded linux/amd64 for 0.1s (exited 0): 1 files, 1 ranges, 4096 bytes read" >&2
`, { mode: 0o755 });
      fs.writeFileSync(path.join(dir, "bin", "runc"), "#!/bin/sh\necho runc version 1.1.5\n", { mode: 0o755 });
      const index = (d: string) => fs.writeFileSync(path.join(dir, "cache", "images", "bench-ref", "index.json"), JSON.stringify({ manifests: [{ digest: `sha256:${d.repeat(64)}` }] }));
      const record = (env = "") => sh(`PATH="${dir}/bin:$PATH"; BIN="${dir}/bin"; CACHE="${dir}/cache"; WORK="${dir}"; LOGS="${dir}/logs"; . "${WORKLOADS}"
        ${env} wl_record ref 2>"${dir}/log" && echo "ok $WL_REC_READS" || echo "failed: $WL_REC_ERROR"`).out;
      const calls = () => (fs.existsSync(path.join(dir, "calls")) ? fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n").length : 0);
      index("a");
      const first = record();
      assert.match(first, /^ok .*\/cache\/images\/bench-ref\.record-[0-9a-f]{16}\.json$/);
      assert.equal(calls(), 1);
      assert.match(fs.readFileSync(first.slice(3) + ".inputs", "utf8"), new RegExp(`^image sha256:${"a".repeat(64)}\nrecorder sha256:[0-9a-f]{64}\nrunc runc version 1\\.1\\.5\nkernel .+\nseconds 30\nplatform linux/amd64\n$`));
      assert.match(fs.readFileSync(path.join(dir, "calls"), "utf8"), /^record --layout .*\/bench-ref --seconds 30 --platform linux\/amd64 --out .* --workdir .* --runc .*\/bin\/runc$/m);
      assert.equal(record(), first, "same image, same recorder: the cached recording");
      assert.equal(calls(), 1);
      index("b");
      const other = record();
      assert.notEqual(other, first, "another image digest: another key");
      assert.equal(calls(), 2);
      assert.ok(!fs.existsSync(first.slice(3)), "the older recording of the workload is removed");
      assert.notEqual(record("BENCH_RECORD_SECONDS=5"), other, "another window: recorded again");
      assert.equal(calls(), 3);
      fs.appendFileSync(recorder, "# another build\n");
      const rebuilt = record("BENCH_RECORD_SECONDS=5");
      assert.equal(calls(), 4, "another recorder binary: recorded again");
      fs.writeFileSync(rebuilt.slice(3), JSON.stringify({ version: 1, source: "list", files: [] }));
      record("BENCH_RECORD_SECONDS=5");
      assert.equal(calls(), 5, "a cached file that is not a recording is not used");
      index("c");
      assert.match(record("RECORDER_FAIL=1"), /^failed: soci-eks-prefetch record exit 1: \[soci-eks-prefetch\] ERROR: the container read no file/);
      assert.deepEqual(fs.readdirSync(path.join(dir, "cache", "images")).filter((f) => f.includes(".record-") && !f.includes(rebuilt.slice(rebuilt.lastIndexOf("-") + 1, -5))), [], "a failed recording caches nothing");
      fs.rmSync(recorder);
      assert.match(record(), /^failed: no .*\/bin\/soci-eks-prefetch: build it with lab\/build-tools\.sh soci-eks-prefetch/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("row_apply edits the rendered SOCI config through the editor: keys land in their tables, the rest stays", () => {
    const r = sh(`d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
      node -e 'process.stdout.write(require(process.argv[1]).renderSociDaemonConfig("lazy", "0.16.1", {vcpus: 2, memoryMiB: 8192}))' "${path.join(REPO, "dist", "userdata", "sociConfig.js")}" >"$d/cfg"
      config_edit "$d/cfg" 'resolve_result_entry = 30' 'metadata_store = "db-multi"'
      python3 -c 'import sys, tomllib, json; print(json.dumps(tomllib.load(open(sys.argv[1], "rb"))))' "$d/cfg"`);
    assert.equal(r.code, 0, r.out);
    const doc = JSON.parse(r.out);
    assert.equal(doc.resolve_result_entry, 30);
    assert.equal(doc.metadata_store, "db-multi");
    assert.deepEqual(doc.prefetch, { enable: true });
    assert.equal(doc.pull_modes.parallel_pull_unpack.max_concurrent_downloads_per_image, 8);
  });
});
