import { gzipSync } from "zlib";

/** One regular file in a {@link tarGzip} archive. */
export interface TarEntry {
  /** Absolute path on the node (stored relative to `/`). */
  path: string;
  /** File content. */
  content: string | Buffer;
  /** Octal mode, e.g. `0644`. */
  permissions: string;
}

const BLOCK = 512;

/** `value` as a NUL-terminated octal field of `width` bytes (ustar numeric fields). */
function octal(value: number, width: number): string {
  const digits = value.toString(8);
  if (digits.length > width - 1) throw new Error(`tar: ${value} does not fit a ${width}-byte field`);
  return `${digits.padStart(width - 1, "0")}\0`;
}

/** The 512-byte ustar header of one regular file owned by root, with mtime 0 (deterministic). */
function header(name: string, size: number, mode: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: path '${name}' is longer than 100 bytes`);
  if (!/^[A-Za-z0-9._/-]+$/.test(name) || name.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new Error(`tar: path '${name}' is not a plain relative path`);
  }
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, "ascii");
  h.write(octal(mode, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii"); // uid
  h.write(octal(0, 8), 116, "ascii"); // gid
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(0, 12), 136, "ascii"); // mtime: extracted with --touch
  h.write("        ", 148, "ascii"); // checksum counts as spaces while it is summed
  h.write("0", 156, "ascii"); // regular file
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write("root", 265, "ascii");
  h.write("root", 297, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/**
 * A gzip-compressed POSIX ustar archive of regular files, byte-for-byte the same for the same entries (mtime 0,
 * owner root, gzip without a timestamp): the node's files travel in it as one compressed blob, so that
 * redundancy across scripts and units compresses too. Parent directories are not stored; `tar -x` creates them.
 */
export function tarGzip(entries: TarEntry[]): Buffer {
  const seen = new Set<string>();
  const blocks: Buffer[] = [];
  for (const e of entries) {
    if (!e.path.startsWith("/")) throw new Error(`tar: '${e.path}' is not an absolute path`);
    const name = e.path.slice(1);
    if (seen.has(name)) throw new Error(`tar: '${e.path}' appears twice`);
    seen.add(name);
    if (!/^0[0-7]{3}$/.test(e.permissions)) throw new Error(`tar: '${e.path}' has mode '${e.permissions}', not 0NNN`);
    const body = typeof e.content === "string" ? Buffer.from(e.content, "utf8") : e.content;
    blocks.push(header(name, body.length, parseInt(e.permissions, 8)), body, Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK));
  }
  blocks.push(Buffer.alloc(2 * BLOCK)); // end of archive
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}
