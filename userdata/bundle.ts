import { gzipSync } from "zlib";

/** One file in a {@link bundleGzip} archive. */
export interface BundleEntry {
  /** Absolute path on the node. */
  path: string;
  /** File content (text or bytes; the node's unbundler reads bytes, so any content but NUL bytes). */
  content: string | Buffer;
  /** Octal mode, e.g. `0644`. */
  permissions: string;
}

/**
 * The node's files as one gzip-compressed bundle: for each file a line `PATH MODE BYTES`, then its BYTES bytes; a
 * last line `-` says the bundle is whole.
 * The installer checks the whole (gzip's CRC and length, `gzip -t`) and unbundles it with bash's `read -N` (no tar on
 * the node's path; a tar archive's 512-byte headers cost about 25 bytes of gzip each). Byte-for-byte the same for the
 * same entries (gzip without a timestamp). Paths are plain (`A-Z a-z 0-9 . _ / -`, no `.` or `..` segment), so the
 * header line splits on spaces; contents hold no NUL byte (bash variables cannot).
 */
export function bundleGzip(entries: BundleEntry[]): Buffer {
  const seen = new Set<string>();
  const chunks: Buffer[] = [];
  for (const e of entries) {
    if (!/^\/[A-Za-z0-9._/-]+$/.test(e.path) || e.path.split("/").slice(1).some((s) => s === "" || s === "." || s === "..")) {
      throw new Error(`bundle: path '${e.path}' is not a plain absolute path`);
    }
    if (seen.has(e.path)) throw new Error(`bundle: '${e.path}' appears twice`);
    seen.add(e.path);
    if (!/^0[0-7]{3}$/.test(e.permissions)) throw new Error(`bundle: '${e.path}' has mode '${e.permissions}', not 0NNN`);
    const body = typeof e.content === "string" ? Buffer.from(e.content, "utf8") : e.content;
    if (body.includes(0)) throw new Error(`bundle: '${e.path}' holds a NUL byte`);
    chunks.push(Buffer.from(`${e.path} ${e.permissions} ${body.length}\n`, "ascii"), body);
  }
  chunks.push(Buffer.from("-\n", "ascii"));
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/** The entries of a bundle (the tests' reading of it; the node's is the installer's `unbundle`). */
export function readBundle(bundle: Buffer, decompress: (b: Buffer) => Buffer): BundleEntry[] {
  const data = decompress(bundle);
  const out: BundleEntry[] = [];
  let at = 0;
  for (;;) {
    const nl = data.indexOf(10, at);
    if (nl < 0) throw new Error("bundle: cut short (no end line)");
    if (data.subarray(at, nl).toString("ascii") === "-") {
      if (nl + 1 !== data.length) throw new Error("bundle: bytes after its end line");
      return out;
    }
    const [path, permissions, size] = data.subarray(at, nl).toString("ascii").split(" ");
    const n = Number(size);
    if (!path || !permissions || !Number.isInteger(n) || nl + 1 + n > data.length) throw new Error(`bundle: bad header at byte ${at}`);
    out.push({ path, permissions, content: data.subarray(nl + 1, nl + 1 + n) });
    at = nl + 1 + n;
  }
}
