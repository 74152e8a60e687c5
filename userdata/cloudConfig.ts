import { stringify } from "yaml";

/** One cloud-init `write_files` entry. */
export interface WriteFile {
  /** Absolute path on the node. */
  path: string;
  /** File content. */
  content: string;
  /** Octal mode, e.g. `0644`. */
  permissions: string;
}

/** A `#cloud-config` document that writes files (cloud-init runs it before user scripts). */
export function renderCloudConfig(files: WriteFile[]): string {
  const doc = {
    write_files: files.map((f) => ({ path: f.path, owner: "root:root", permissions: f.permissions, content: f.content })),
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

const SAFE_ENV_VALUE = /^[A-Za-z0-9._:/@+=, -]*$/;

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
