import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { describe, it } from "node:test";
import { parse } from "smol-toml";
import { TomlTable, verifyAgainstDump } from "../../lab/config/tomlEdit";
import { DEFAULT_SOCI_VERSION, MIN_SOCI_VERSION } from "../../userdata/releases";
import { renderSociDaemonConfig, SOCI_RESOLVE_RESULT_ENTRY } from "../../userdata/sociConfig";

// Every SOCI setting our user data writes must be where SOCI reads it: SOCI 0.16.1 accepts unknown keys and keys in
// the wrong table without a word, so the only proof is its own `config dump` of the file. The binary is the lab's
// (lab/build-tools.sh builds it; `npm run lab` runs this file with SOCI_EKS_REQUIRE_SOCI_BIN=1, so there it cannot
// skip). Without the binary (a plain `npm test` on a fresh clone) the dump cases skip and say why; the pure checks
// below still run.
const REPO = path.resolve(__dirname, "..", "..", "..");
const BIN = process.env.SOCI_SNAPSHOTTER_GRPC ?? path.join(REPO, "lab", ".bin", "soci-snapshotter-grpc");
const HAVE_BIN = existsSync(BIN);
if (!HAVE_BIN && process.env.SOCI_EKS_REQUIRE_SOCI_BIN === "1") throw new Error(`${BIN} is missing and SOCI_EKS_REQUIRE_SOCI_BIN=1`);
const SKIP = HAVE_BIN ? false : `${BIN} is not built (lab/build-tools.sh); npm run lab runs these cases with it`;

const INSTANCES = [
  { name: "2 vCPU, 8 GiB", vcpus: 2, memoryMiB: 8192 },
  { name: "4 vCPU, 7 GiB", vcpus: 4, memoryMiB: 7168 },
  { name: "64 vCPU, 256 GiB", vcpus: 64, memoryMiB: 262144 },
];
const CASES = (["lazy", "parallel"] as const).flatMap((mode) =>
  [DEFAULT_SOCI_VERSION, MIN_SOCI_VERSION, "0.14.0"].flatMap((version) => INSTANCES.map((instance) => ({ mode, version, instance }))),
);

/** The lines before the first table header: where TOML puts top-level keys. */
function topLevelLines(text: string): string[] {
  const lines = text.split("\n");
  const first = lines.findIndex((l) => /^\s*\[/.test(l));
  return lines.slice(0, first).filter((l) => /^\s*[^#\s]/.test(l));
}

describe("our SOCI config is read as written", () => {
  it("lazy mode writes resolve_result_entry at the top level, before any table, and turns prefetch on", () => {
    const text = renderSociDaemonConfig("lazy", DEFAULT_SOCI_VERSION, INSTANCES[0]);
    assert.ok(topLevelLines(text).includes(`resolve_result_entry = ${SOCI_RESOLVE_RESULT_ENTRY}`), text);
    const doc = parse(text) as TomlTable;
    assert.equal(doc.resolve_result_entry, SOCI_RESOLVE_RESULT_ENTRY);
    assert.equal((doc.prefetch as TomlTable).enable, true);
    assert.ok(SOCI_RESOLVE_RESULT_ENTRY >= 127, "covers every layer an image can have");
    assert.equal((parse(renderSociDaemonConfig("lazy", MIN_SOCI_VERSION, INSTANCES[0])) as TomlTable).prefetch, undefined, "0.11 has no [prefetch]");
    const par = parse(renderSociDaemonConfig("parallel", DEFAULT_SOCI_VERSION, INSTANCES[0])) as TomlTable;
    assert.equal(par.resolve_result_entry, undefined);
    assert.equal(par.prefetch, undefined);
  });

  for (const c of CASES) {
    it(`soci-snapshotter-grpc ${"0.16.1"} config dump holds every key of the ${c.mode} config for ${c.version}, ${c.instance.name}`, { skip: SKIP }, () => {
      const dir = mkdtempSync(path.join(tmpdir(), "soci-dump-"));
      try {
        const file = path.join(dir, "config.toml");
        const text = renderSociDaemonConfig(c.mode, c.version, c.instance);
        writeFileSync(file, text);
        const r = spawnSync(BIN, ["--config", file, "config", "dump"], { encoding: "utf8" });
        assert.equal(r.status, 0, `config dump failed: ${r.stderr}`);
        const bad = verifyAgainstDump(parse(text) as TomlTable, parse(r.stdout) as TomlTable);
        assert.deepEqual(bad, [], `keys SOCI does not read as written:\n${bad.map((m) => `${m.key}: ${JSON.stringify(m.expected)} -> ${JSON.stringify(m.actual)}`).join("\n")}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("the check can fail: a key appended after the last table is not where it was meant", { skip: SKIP }, () => {
    const dir = mkdtempSync(path.join(tmpdir(), "soci-dump-"));
    try {
      const file = path.join(dir, "config.toml");
      const text = `${renderSociDaemonConfig("lazy", DEFAULT_SOCI_VERSION, INSTANCES[0])}metadata_db_no_sync = true\n`;
      writeFileSync(file, text);
      const r = spawnSync(BIN, ["--config", file, "config", "dump"], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const dump = parse(r.stdout) as TomlTable;
      assert.equal(dump.metadata_db_no_sync, false, "SOCI ignored the misplaced key");
      assert.deepEqual(
        verifyAgainstDump(parse(text) as TomlTable, dump).map((m) => m.key),
        ["prefetch.metadata_db_no_sync"],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
