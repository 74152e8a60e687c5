import { MimePart } from "./types";

/**
 * The boundary of every document we render; fixed so output is deterministic, short because it is written once per
 * part (and once more by EKS's merge) into a document EC2 limits to 16 KiB. `=` never starts a line of our parts
 * (YAML, shell, base64 on a `content:` line), and {@link assembleMime} refuses a part that holds a delimiter.
 */
export const MIME_BOUNDARY = "==SOCI==";

/** One part as it is written into a document: its header lines and its body. */
export interface PartText {
  /** Header lines in order; the first is always `Content-Type: ...`. */
  headers: string[];
  /** The body between the blank line after the headers and the next delimiter's line break. */
  body: string;
}

/**
 * How one part is written: its headers and body. {@link assembleMime} writes every part with it, and so does any
 * other assembler that must produce the same part bytes (the @pulumi/eks plug-in hands parts to @pulumi/eks's).
 * One header, `Content-Type`, and a 7-bit text body: mergers (Karpenter, EKS managed node groups) rewrite each
 * part with its `Content-Type` and body only, so nothing may rely on a `Content-Transfer-Encoding`.
 */
export function partText(part: MimePart): PartText {
  // A merger re-serializes the body byte for byte under a new header; only 7-bit text survives every path.
  const nonAscii = /[^\x09\x0a\x0d\x20-\x7e]/.exec(part.content);
  if (nonAscii) {
    throw new Error(`a ${part.contentType} part contains a character outside 7-bit ASCII (U+${nonAscii[0].codePointAt(0)!.toString(16).padStart(4, "0")})`);
  }
  // The line break before the next delimiter belongs to the delimiter (RFC 2046), so a part
  // that ends in a newline keeps it when parsed.
  // No charset parameter: us-ascii is the default of text/* (RFC 2045), nodeadm and cloud-init read none, and the
  // 20 bytes per part count against EC2's 16 KiB.
  return { headers: [`Content-Type: ${part.contentType}`], body: part.content };
}

/**
 * Assembles a MIME multipart/mixed document from typed parts, in order.
 * EKS managed node groups require this format for Amazon Linux user data and append their own NodeConfig
 * part to it; Karpenter re-parses it and rewrites every part with only its `Content-Type` header.
 * So every part is plain 7-bit text with a `Content-Type` and nothing else: no `Content-Transfer-Encoding`
 * (a merger drops it, and the node would then read base64 text where gzip bytes were meant).
 */
export function assembleMime(parts: MimePart[]): string {
  if (parts.length === 0) throw new Error("a MIME user-data document needs at least one part");
  const lines: string[] = [
    "MIME-Version: 1.0",
    `Content-Type: multipart/mixed; boundary="${MIME_BOUNDARY}"`,
    "",
  ];
  for (const part of parts) {
    if (part.content.includes(`--${MIME_BOUNDARY}`)) {
      throw new Error(`a ${part.contentType} part contains the MIME boundary`);
    }
    const text = partText(part);
    lines.push(`--${MIME_BOUNDARY}`, ...text.headers, "", text.body);
  }
  lines.push(`--${MIME_BOUNDARY}--`, "");
  return lines.join("\n");
}
