import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";
import { describe, it } from "node:test";

// lab/lib/bench-rows.sh's pure helpers, run by bash: what each bench row and rate string means.
const ROWS = path.resolve(__dirname, "..", "..", "..", "lab", "lib", "bench-rows.sh");

function sh(script: string): { code: number; out: string } {
  const r = spawnSync("bash", ["-c", `set -euo pipefail; log() { echo "LOG $*" >&2; }; DEFAULT_SPAN_MIB=2; TUNE_VCPUS=2; . "${ROWS}"; ${script}`], { encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout.trim() };
}

describe("bench rows (lab/lib/bench-rows.sh)", () => {
  it("rates: gbit, mbit and kbit are decimal bits per second, a plain number is bytes per second", () => {
    assert.equal(sh("bytes_per_s 1gbit").out, "125000000");
    assert.equal(sh("bytes_per_s 125mbit").out, "15625000");
    assert.equal(sh("bytes_per_s 8kbit").out, "1000");
    assert.equal(sh("bytes_per_s 4096").out, "4096");
  });

  it("each row boots the user data of its mode; an unknown row is refused", () => {
    const modes = sh("for r in off off-tuned parallel parallel-d20u2 peer lazy lazy-s1 lazy-bg lazy-nobg lazy-pf; do row_mode $r; done").out.split("\n");
    assert.deepEqual(modes, ["off", "off", "parallel", "parallel", "parallel", "lazy", "lazy", "lazy", "lazy", "lazy"]);
    assert.notEqual(sh("row_mode fast").code, 0);
  });

  it("lazy rows pull the builder's default span unless they name one; lazy-pf pulls the prefetch index", () => {
    assert.deepEqual(sh("for r in lazy lazy-s4 lazy-s1 lazy-bg lazy-pf; do row_index $r; done").out.split("\n"), ["2", "4", "1", "2", "2-pf"]);
  });

  it("a tuning probe rewrites the per-image and total knobs of our SOCI config, and fails on a config without them", () => {
    const cfg = "max_concurrent_downloads = 40\nmax_concurrent_downloads_per_image = 20\nmax_concurrent_unpacks = 4\nmax_concurrent_unpacks_per_image = 2\n";
    const r = sh(`d=$(mktemp -d); trap 'rm -rf "$d"' EXIT; mkdir -p "$d/etc"; printf '${cfg.replace(/\n/g, "\\n")}' >"$d/cfg"
      row_apply_cfg() { local f=$1; shift; sed "s#/etc/soci-eks/soci-snapshotter-grpc.toml#$f#" "${ROWS}" >"$d/rows.sh"; . "$d/rows.sh"; row_apply "$@"; }
      row_apply_cfg "$d/cfg" parallel-d10u3; cat "$d/cfg"; : >"$d/empty"; if row_apply_cfg "$d/empty" parallel-d10u3; then echo applied-empty; fi`);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^max_concurrent_downloads = 20$/m);
    assert.match(r.out, /^max_concurrent_downloads_per_image = 10$/m);
    assert.match(r.out, /^max_concurrent_unpacks = 6$/m);
    assert.match(r.out, /^max_concurrent_unpacks_per_image = 3$/m);
    assert.doesNotMatch(r.out, /applied-empty/);
  });
});
