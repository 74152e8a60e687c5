/**
 * Edits of a TOML config file that cannot misplace a key, and the check that a daemon read them.
 *
 * Appending `key = value` to a TOML file puts the key into the last table of the file: SOCI 0.16.1 then ignores it
 * without an error (a top-level `resolve_result_entry` appended after `[prefetch]` is `prefetch.resolve_result_entry`).
 * Here an edit is a TOML assignment with a dotted key (`prefetch.enable = true`, `resolve_result_entry = 128`,
 * `plugins."io.containerd.cri.v1.images".max_concurrent_downloads = 20`); it is parsed as TOML, merged into the parsed
 * document at exactly that path and the document is written back as TOML. Then `verifyAgainstDump` compares what was
 * meant with the daemon's own `config dump`: a key the daemon does not know, a key in the wrong table or a value the
 * daemon reads as something else (`silence_period_msec = 0` is read as 30000) is a mismatch.
 * Pure functions: no I/O.
 */
import { parse, stringify } from "smol-toml";

/** A TOML table as smol-toml parses it. */
export type TomlTable = { [key: string]: TomlValue };
/** Any TOML value as smol-toml parses it. */
export type TomlValue = string | number | bigint | boolean | Date | TomlValue[] | TomlTable | object;

/** One edit: set `path` to `value`, or remove `path` (value undefined). */
export interface TomlEdit {
  /** Key segments from the top of the document, unquoted (`["plugins", "io.containerd.cri.v1.images", "x"]`). */
  path: string[];
  /** The new value; undefined removes the key. */
  value?: TomlValue;
}

/** A key that does not hold what was meant. */
export interface Mismatch {
  /** Dotted path for people (segments with dots are quoted). */
  key: string;
  expected: TomlValue;
  /** What the dump holds there; undefined when the dump has no such key. */
  actual: TomlValue | undefined;
}

function isTable(v: unknown): v is TomlTable {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A dotted key for messages: bare segments as they are, others quoted. */
export function keyString(path: string[]): string {
  return path.map((s) => (/^[A-Za-z0-9_-]+$/.test(s) ? s : JSON.stringify(s))).join(".");
}

/** The single key path and value of a parsed one-assignment document (`{a: {b: 1}}` → `[["a","b"], 1]`). */
function singleLeaf(doc: TomlTable, text: string): { path: string[]; value: TomlValue } {
  const path: string[] = [];
  let node: TomlValue = doc;
  for (;;) {
    if (!isTable(node)) return { path, value: node };
    const keys: string[] = Object.keys(node as TomlTable);
    // An inline table with one key is the same as the dotted key; empty or wider inline tables are refused.
    if (keys.length !== 1) throw new Error(`'${text}' must assign exactly one key (KEY.PATH = VALUE; set a table's keys one by one)`);
    path.push(keys[0]);
    node = (node as TomlTable)[keys[0]];
  }
}

/**
 * Parses `KEY.PATH = VALUE` (TOML syntax: quoted key segments, any TOML value; inline tables are refused, set their
 * keys one by one) into an edit. `KEY.PATH` alone (no `=`) is a removal.
 */
export function parseEdit(text: string): TomlEdit {
  const assignment = text.includes("=") ? text : `${text} = 0`;
  let doc: TomlTable;
  try {
    doc = parse(assignment) as TomlTable;
  } catch (e) {
    throw new Error(`'${text}' is not a TOML assignment (KEY.PATH = VALUE): ${(e as Error).message.split("\n")[0]}`);
  }
  const { path, value } = singleLeaf(doc, text);
  if (path.length === 0) throw new Error(`'${text}' names no key`);
  return text.includes("=") ? { path, value } : { path };
}

/** A deep copy of a parsed document (Dates kept). */
function clone<T>(v: T): T {
  if (v instanceof Date) return new Date(v.getTime()) as T;
  if (Array.isArray(v)) return v.map(clone) as T;
  if (isTable(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as T;
  return v;
}

/**
 * Applies edits to a copy of `doc`. Intermediate tables are created; a path through a key that holds a non-table
 * value is refused (that would silently turn a value into a table). Removing a missing key is refused too, so a
 * misspelt removal cannot pass unnoticed.
 */
export function applyEdits(doc: TomlTable, edits: TomlEdit[]): TomlTable {
  const out = clone(doc);
  for (const e of edits) {
    let node: TomlTable = out;
    for (let i = 0; i < e.path.length - 1; i++) {
      const seg = e.path[i];
      const next = node[seg];
      if (next === undefined) {
        if (e.value === undefined) throw new Error(`cannot remove ${keyString(e.path)}: ${keyString(e.path.slice(0, i + 1))} does not exist`);
        node[seg] = {};
      } else if (!isTable(next)) {
        throw new Error(`cannot edit ${keyString(e.path)}: ${keyString(e.path.slice(0, i + 1))} is a value, not a table`);
      }
      node = node[seg] as TomlTable;
    }
    const leaf = e.path[e.path.length - 1];
    if (e.value === undefined) {
      if (!(leaf in node)) throw new Error(`cannot remove ${keyString(e.path)}: no such key`);
      delete node[leaf];
    } else {
      if (isTable(node[leaf]) && !isTable(e.value)) throw new Error(`cannot set ${keyString(e.path)}: it is a table`);
      node[leaf] = clone(e.value);
    }
  }
  return out;
}

/** Every leaf (non-table value) of a document with its path; arrays are leaves. */
export function leaves(doc: TomlTable, prefix: string[] = []): Array<{ path: string[]; value: TomlValue }> {
  const out: Array<{ path: string[]; value: TomlValue }> = [];
  for (const [k, v] of Object.entries(doc)) {
    if (isTable(v)) out.push(...leaves(v as TomlTable, [...prefix, k]));
    else out.push({ path: [...prefix, k], value: v });
  }
  return out;
}

function lookup(doc: TomlTable, path: string[]): TomlValue | undefined {
  let node: TomlValue | undefined = doc;
  for (const seg of path) {
    if (!isTable(node)) return undefined;
    node = (node as TomlTable)[seg];
  }
  return node;
}

function equal(a: TomlValue | undefined, b: TomlValue | undefined): boolean {
  if (typeof a === "bigint" || typeof b === "bigint") return a !== undefined && b !== undefined && BigInt(a as number) === BigInt(b as number);
  if (a instanceof Date || b instanceof Date) return a instanceof Date && b instanceof Date && a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => equal(x as TomlValue, b[i] as TomlValue));
  }
  if (isTable(a) || isTable(b)) {
    if (!isTable(a) || !isTable(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => equal((a as TomlTable)[k], (b as TomlTable)[k]));
  }
  return a === b;
}

/**
 * The keys of `expected` (every leaf, or only `only` when given) that the daemon's `config dump` does not hold with
 * the same value: missing there (unknown to the daemon, or placed in the wrong table) or read as another value.
 */
export function verifyAgainstDump(expected: TomlTable, dump: TomlTable, only?: string[][]): Mismatch[] {
  const wanted = only ? only.map((path) => ({ path, value: lookup(expected, path) })) : leaves(expected);
  const out: Mismatch[] = [];
  for (const { path, value } of wanted) {
    if (value === undefined) throw new Error(`${keyString(path)} is not in the edited file`);
    const actual = lookup(dump, path);
    if (!equal(value, actual)) out.push({ key: keyString(path), expected: value, actual });
  }
  return out;
}

/** Parses TOML text (errors name the file). */
export function parseToml(text: string, name: string): TomlTable {
  try {
    return parse(text) as TomlTable;
  } catch (e) {
    throw new Error(`${name} is not valid TOML: ${(e as Error).message.split("\n")[0]}`);
  }
}

/**
 * Writes a document back as TOML, keeping the original file's leading comment lines. Top-level keys come before the
 * first table (smol-toml writes plain keys first), where every TOML reader puts them.
 */
export function renderToml(doc: TomlTable, originalText = ""): string {
  const header = originalText.split("\n").filter((l, i, all) => all.slice(0, i + 1).every((x) => /^\s*(#.*)?$/.test(x)) && l.trim() !== "");
  const body = stringify(doc);
  return `${header.length ? `${header.join("\n")}\n` : ""}${body}${body.endsWith("\n") ? "" : "\n"}`;
}
