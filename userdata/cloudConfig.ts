import { gzipSync } from "zlib";
import { stringify } from "yaml";

/** One cloud-init `write_files` entry. */
export interface WriteFile {
  /** Absolute path on the node. */
  path: string;
  /**
   * File content: text travels gzip-compressed (`gz+b64`); bytes travel as they are (`b64`), for content that is
   * compressed already (the node-files bundle).
   */
  content: string | Buffer;
  /** Octal mode, e.g. `0644`. */
  permissions: string;
}

/** gzip (level 9, no timestamp: deterministic) then base64 on one line: cloud-init's `gz+b64` encoding. */
export function gzipBase64(content: string): string {
  return gzipSync(Buffer.from(content, "utf8"), { level: 9 }).toString("base64");
}

/**
 * A `#cloud-config` document that writes files (cloud-init runs it before user scripts).
 * Each file travels base64-encoded inside the YAML (text gzip-compressed first: `gz+b64`; bytes as they are:
 * `b64`), so the part itself is plain text that survives a merger which keeps only a part's `Content-Type` and
 * body, and the document stays small.
 */
export function renderCloudConfig(files: WriteFile[]): string {
  const doc = {
    write_files: files.map((f) => ({
      path: f.path,
      // No `owner`: cloud-init's default is root:root.
      permissions: f.permissions,
      encoding: typeof f.content === "string" ? "gz+b64" : "b64",
      content: typeof f.content === "string" ? gzipBase64(f.content) : f.content.toString("base64"),
    })),
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

const SAFE_ENV_VALUE = /^[A-Za-z0-9._:/@+=, [\]-]*$/;

/**
 * An environment file (`KEY='value'` lines) read by our installer and usable as a systemd EnvironmentFile.
 * Values are checked against a conservative character set, so quoting can never be broken.
 */
export function renderEnvFile(values: Record<string, string>): string {
  const keys = Object.keys(values).sort();
  return keys
    .map((key) => {
      const value = values[key];
      if (!/^[A-Z][A-Z0-9_]*$/.test(key)) throw new Error(`invalid environment variable name '${key}'`);
      if (!SAFE_ENV_VALUE.test(value)) throw new Error(`unsafe characters in ${key}='${value}'`);
      return `${key}='${value}'\n`;
    })
    .join("");
}
