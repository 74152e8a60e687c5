/**
 * The lab's TOML config editor (lab/config/tomlEdit.ts):
 *   node dist/lab/config/main.js edit FILE 'KEY.PATH = VALUE'... ['KEY.PATH'...]
 *     sets (or, without `= VALUE`, removes) each key at exactly its path and writes FILE back as TOML.
 *   node dist/lab/config/main.js verify FILE DUMP [KEY.PATH...]
 *     exit 0 when every key of FILE (or only the keys named) holds the same value in DUMP, a daemon's `config dump`
 *     of FILE; otherwise prints each mismatch and exits 1. Exit 2: bad usage or input.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { applyEdits, keyString, parseEdit, parseToml, renderToml, verifyAgainstDump } from "./tomlEdit";

const USAGE = "usage: main.js edit FILE 'KEY.PATH = VALUE'... | main.js verify FILE DUMP [KEY.PATH...]";

function show(v: unknown): string {
  return v === undefined ? "(missing)" : JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
}

function main(argv: string[]): number {
  const [cmd, file, ...rest] = argv;
  if (!file || (cmd !== "edit" && cmd !== "verify")) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const text = readFileSync(file, "utf8");
  const doc = parseToml(text, file);
  if (cmd === "edit") {
    if (rest.length === 0) {
      process.stderr.write(`${USAGE}\n(no edits given)\n`);
      return 2;
    }
    writeFileSync(file, renderToml(applyEdits(doc, rest.map(parseEdit)), text));
    return 0;
  }
  const [dumpFile, ...keys] = rest;
  if (!dumpFile) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const dump = parseToml(readFileSync(dumpFile, "utf8"), dumpFile);
  const only = keys.length > 0 ? keys.map((k) => parseEdit(k).path) : undefined;
  const bad = verifyAgainstDump(doc, dump, only);
  for (const m of bad) {
    const why = m.actual === undefined ? "not in the dump (unknown key, or in the wrong table)" : `the dump has ${show(m.actual)}`;
    process.stdout.write(`MISMATCH ${m.key}: ${file} sets ${show(m.expected)}, ${why}\n`);
  }
  if (bad.length === 0) process.stdout.write(`ok: ${only ? only.map(keyString).join(", ") : "every key of " + file} as in ${dumpFile}\n`);
  return bad.length === 0 ? 0 : 1;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exitCode = 2;
}
