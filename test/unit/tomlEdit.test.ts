import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { describe, it } from "node:test";
import { parse } from "smol-toml";
import { applyEdits, parseEdit, parseToml, renderToml, TomlTable, verifyAgainstDump } from "../../lab/config/tomlEdit";

// The lab's config editor (lab/config): bench rows edit SOCI's and containerd's config.toml through it.
const MAIN = path.resolve(__dirname, "..", "..", "lab", "config", "main.js");
const SOCI = `# Written by soci-eks. Mode: lazy.
metrics_network = "unix"

[pull_modes.soci_v2]
enable = true

[prefetch]
enable = true
`;

/** smol-toml's tables have no prototype: compare plain copies. */
function plain(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v));
}

function edit(text: string, ...edits: string[]): string {
  return renderToml(applyEdits(parseToml(text, "test"), edits.map(parseEdit)), text);
}

/** The lines before the first table header: where a TOML reader takes top-level keys from. */
function topLevel(text: string): string[] {
  const lines = text.split("\n");
  const first = lines.findIndex((l) => /^\s*\[/.test(l));
  return lines.slice(0, first < 0 ? lines.length : first).filter((l) => /^\s*[^#\s]/.test(l));
}

describe("lab config editor (lab/config/tomlEdit.ts)", () => {
  it("a top-level key lands before the first table, where appending would have put it into [prefetch]", () => {
    const out = edit(SOCI, "resolve_result_entry = 128");
    assert.ok(topLevel(out).includes("resolve_result_entry = 128"), out);
    assert.deepEqual(plain((parse(out) as TomlTable).prefetch), { enable: true });
    assert.equal((parse(out) as TomlTable).resolve_result_entry, 128);
    // what an append does instead: the key belongs to the last table
    assert.deepEqual(plain((parse(`${SOCI}resolve_result_entry = 128\n`) as TomlTable).prefetch), { enable: true, resolve_result_entry: 128 });
  });

  it("keeps the file's leading comment, the other keys and their tables", () => {
    const out = edit(SOCI, "background_fetch.silence_period_msec = 1", "prefetch.enable = false");
    assert.match(out, /^# Written by soci-eks\. Mode: lazy\.\n/);
    assert.deepEqual(plain(parse(out)), {
      metrics_network: "unix",
      pull_modes: { soci_v2: { enable: true } },
      prefetch: { enable: false },
      background_fetch: { silence_period_msec: 1 },
    });
  });

  it("quoted key segments address containerd's plugin tables", () => {
    const ctd = `version = 3\n[plugins."io.containerd.cri.v1.images"]\nsnapshotter = "overlayfs"\n`;
    const out = parse(edit(ctd, `plugins."io.containerd.cri.v1.images".max_concurrent_downloads = 20`)) as TomlTable;
    assert.deepEqual(plain((out.plugins as TomlTable)["io.containerd.cri.v1.images"]), { snapshotter: "overlayfs", max_concurrent_downloads: 20 });
    assert.equal(out.version, 3);
  });

  it("a key path alone removes that key; a missing key or a path through a value is refused", () => {
    assert.deepEqual(plain(parse(edit(SOCI, "prefetch.enable"))), { metrics_network: "unix", pull_modes: { soci_v2: { enable: true } }, prefetch: {} });
    assert.throws(() => edit(SOCI, "prefetch.max_concurrency"), /no such key/);
    assert.throws(() => edit(SOCI, "nope.x"), /nope does not exist/);
    assert.throws(() => edit(SOCI, "metrics_network.x = 1"), /metrics_network is a value, not a table/);
    assert.throws(() => edit(SOCI, "prefetch = 1"), /it is a table/);
  });

  it("refuses what is not one TOML assignment", () => {
    assert.throws(() => parseEdit("a = "), /not a TOML assignment/);
    assert.throws(() => parseEdit("a = {b = 1, c = 2}"), /exactly one key/);
    assert.deepEqual(plain(parseEdit("http.DialTimeoutMsec = 5")), { path: ["http", "DialTimeoutMsec"], value: 5 });
    assert.deepEqual(plain(parseEdit(`a."b.c" = ["x"]`)), { path: ["a", "b.c"], value: ["x"] });
  });

  it("verify: a key missing from the dump (unknown, or in the wrong table) or read as another value is a mismatch", () => {
    const ours = parseToml(`resolve_result_entry = 128\n[background_fetch]\nsilence_period_msec = 0\n[http]\ndial_timeout_msec = 5\nDialTimeoutMsec = 5\n`, "ours");
    // what SOCI 0.16.1's dump says for that file (abridged)
    const dump = parseToml(`resolve_result_entry = 128\n[background_fetch]\n  silence_period_msec = 30000\n[http]\n  DialTimeoutMsec = 5\n`, "dump");
    assert.deepEqual(
      verifyAgainstDump(ours, dump).map((m) => [m.key, m.actual]),
      [
        ["background_fetch.silence_period_msec", 30000],
        ["http.dial_timeout_msec", undefined],
      ],
    );
    assert.deepEqual(verifyAgainstDump(ours, dump, [["resolve_result_entry"], ["http", "DialTimeoutMsec"]]), []);
    assert.throws(() => verifyAgainstDump(ours, dump, [["prefetch", "enable"]]), /not in the edited file/);
  });

  it("the CLI edits in place and verify exits 1 on a mismatch, 0 when the dump agrees", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "tomledit-"));
    try {
      const f = path.join(dir, "config.toml");
      writeFileSync(f, SOCI);
      const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: "utf8" });
      assert.equal(run("edit", f, "resolve_result_entry = 128").status, 0);
      assert.ok(topLevel(readFileSync(f, "utf8")).includes("resolve_result_entry = 128"));
      const dump = path.join(dir, "dump.toml");
      writeFileSync(dump, `resolve_result_entry = 30\nmetrics_network = "unix"\n[pull_modes.soci_v2]\nenable = true\n[prefetch]\nenable = true\n`);
      const bad = run("verify", f, dump);
      assert.equal(bad.status, 1);
      assert.match(bad.stdout, /MISMATCH resolve_result_entry: .* sets 128, the dump has 30/);
      writeFileSync(dump, `resolve_result_entry = 128\nmetrics_network = "unix"\nother = 1\n[pull_modes.soci_v2]\nenable = true\n[prefetch]\nenable = true\n`);
      assert.equal(run("verify", f, dump).status, 0);
      assert.equal(run("edit", f).status, 2);
      assert.equal(run("edit", f, "x.y.z").status, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
