import { gzipSync } from "zlib";
import { MimePart } from "./types";

/** Base64 wrapped at 76 characters per line (RFC 2045). */
function base64Lines(data: Buffer): string {
  return (data.toString("base64").match(/.{1,76}/g) ?? []).join("\n");
}

/** The boundary of every document we render; fixed so output is deterministic. */
export const MIME_BOUNDARY = "==SOCI-EKS-BOUNDARY==";

/**
 * Assembles a MIME multipart/mixed document from typed parts, in order.
 * EKS managed node groups require this format for Amazon Linux user data and
 * append their own NodeConfig part to it.
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
    if (part.gzip) {
      // gzip output has no timestamp from zlib's gzipSync (mtime 0), so the text stays deterministic.
      const body = base64Lines(gzipSync(Buffer.from(part.content, "utf8"), { level: 9 }));
      lines.push(`--${MIME_BOUNDARY}`, "Content-Type: application/x-gzip", "Content-Transfer-Encoding: base64", "", body);
      continue;
    }
    lines.push(`--${MIME_BOUNDARY}`, `Content-Type: ${part.contentType}; charset="us-ascii"`, "");
    // The line break before the next delimiter belongs to the delimiter (RFC 2046), so a part
    // that ends in a newline keeps it when parsed.
    lines.push(part.content);
  }
  lines.push(`--${MIME_BOUNDARY}--`, "");
  return lines.join("\n");
}
