import { MimePart } from "./types";

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
    lines.push(`--${MIME_BOUNDARY}`, `Content-Type: ${part.contentType}; charset="us-ascii"`, "");
    // The line break before the next delimiter belongs to the delimiter (RFC 2046), so a part
    // that ends in a newline keeps it when parsed.
    lines.push(part.content);
  }
  lines.push(`--${MIME_BOUNDARY}--`, "");
  return lines.join("\n");
}
