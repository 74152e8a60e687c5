import { mkdirSync, writeFileSync, chmodSync } from "fs";
import * as path from "path";
import { gunzipSync } from "zlib";
import { simpleParser } from "mailparser";
import { parse as parseYaml } from "yaml";
import { parse as parseToml } from "smol-toml";

/** A MIME part as a real MIME parser (mailparser) sees it. */
export interface ParsedPart {
  contentType: string;
  content: string;
  /** Whether the part travelled gzip-compressed. */
  compressed?: boolean;
}

/**
 * Parses a user-data MIME document with mailparser and returns its parts in order.
 * `application/x-gzip` parts are decompressed and typed by their first line, as cloud-init does
 * (the cloud-init test checks that cloud-init itself agrees).
 */
export async function parseMime(text: string): Promise<ParsedPart[]> {
  const mail = await simpleParser(text);
  return mail.attachments.map((a) => {
    if (a.contentType !== "application/x-gzip") return { contentType: a.contentType, content: a.content.toString("utf8") };
    const content = gunzipSync(a.content).toString("utf8");
    const contentType = content.startsWith("#cloud-config") ? "text/cloud-config" : content.startsWith("#!") ? "text/x-shellscript" : "unknown";
    return { contentType, content, compressed: true };
  });
}

/** The NodeConfig documents of a MIME user-data document, parsed as YAML. */
export async function nodeConfigs(text: string): Promise<Record<string, any>[]> {
  const parts = await parseMime(text);
  return parts.filter((p) => p.contentType === "application/node.eks.aws").map((p) => parseYaml(p.content));
}

/** One cloud-init write_files entry. */
export interface CloudConfigFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
}

/** The write_files entries of the `text/cloud-config` part. */
export async function cloudConfigFiles(text: string): Promise<CloudConfigFile[]> {
  const parts = await parseMime(text);
  const cc = parts.find((p) => p.contentType === "text/cloud-config");
  if (!cc) return [];
  if (!cc.content.startsWith("#cloud-config\n")) throw new Error("cloud-config part lacks its #cloud-config header");
  const doc = parseYaml(cc.content) as { write_files?: CloudConfigFile[] };
  return doc.write_files ?? [];
}

/** Writes the cloud-config files under `root`, as cloud-init's write_files module would on the node. */
export function applyWriteFiles(files: CloudConfigFile[], root: string): void {
  for (const f of files) {
    const dest = path.join(root, f.path);
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, f.content);
    chmodSync(dest, parseInt(f.permissions, 8));
  }
}

/** Parses the containerd snippet of a NodeConfig as TOML. */
export function containerdToml(nodeConfig: Record<string, any>): Record<string, any> {
  return parseToml(nodeConfig.spec.containerd.config) as Record<string, any>;
}
