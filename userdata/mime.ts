import { MimePart } from "./types";

/** The boundary of every document we render; fixed so output is deterministic. */
export const MIME_BOUNDARY = "==SOCI-EKS-BOUNDARY==";

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
    // A merger re-serializes the body byte for byte under a new header; only 7-bit text survives every path.
    const nonAscii = /[^\x09\x0a\x0d\x20-\x7e]/.exec(part.content);
    if (nonAscii) {
      throw new Error(`a ${part.contentType} part contains a character outside 7-bit ASCII (U+${nonAscii[0].codePointAt(0)!.toString(16).padStart(4, "0")})`);
    }
    lines.push(`--${MIME_BOUNDARY}`, `Content-Type: ${part.contentType}; charset="us-ascii"`, "");
    // The line break before the next delimiter belongs to the delimiter (RFC 2046), so a part
    // that ends in a newline keeps it when parsed.
    lines.push(part.content);
  }
  lines.push(`--${MIME_BOUNDARY}--`, "");
  return lines.join("\n");
}
