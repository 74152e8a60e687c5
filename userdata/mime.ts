import { gzipSync } from "zlib";
import { MimePart } from "./types";

/** Base64 wrapped at 76 characters per line (RFC 2045). */
function base64Lines(data: Buffer): string {
  return (data.toString("base64").match(/.{1,76}/g) ?? []).join("\n");
}

/** The boundary of every document we render; fixed so output is deterministic. */
export const MIME_BOUNDARY = "==SOCI-EKS-BOUNDARY==";

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
 */
export function partText(part: MimePart): PartText {
  if (part.gzip) {
    // gzip output has no timestamp from zlib's gzipSync (mtime 0), so the text stays deterministic.
    const body = base64Lines(gzipSync(Buffer.from(part.content, "utf8"), { level: 9 }));
    return { headers: ["Content-Type: application/x-gzip", "Content-Transfer-Encoding: base64"], body };
  }
  // The line break before the next delimiter belongs to the delimiter (RFC 2046), so a part
  // that ends in a newline keeps it when parsed.
  return { headers: [`Content-Type: ${part.contentType}; charset="us-ascii"`], body: part.content };
}

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
    const text = partText(part);
    lines.push(`--${MIME_BOUNDARY}`, ...text.headers, "", text.body);
  }
  lines.push(`--${MIME_BOUNDARY}--`, "");
  return lines.join("\n");
}
