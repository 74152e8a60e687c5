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
}

/**
 * Parses a user-data MIME document with mailparser and returns its parts in order. Every part must be
 * plain text without a Content-Transfer-Encoding (mergers drop that header), so one that has it is an error.
 */
export async function parseMime(text: string): Promise<ParsedPart[]> {
  const mail = await simpleParser(text);
  return mail.attachments.map((a) => {
    const cte = a.headers.get("content-transfer-encoding");
    if (cte !== undefined && !/^(7bit|8bit)$/i.test(String(cte))) {
      throw new Error(`a ${a.contentType} part has Content-Transfer-Encoding ${String(cte)}: it does not survive a merge`);
    }
    return { contentType: a.contentType, content: a.content.toString("utf8") };
  });
}

/** The NodeConfig documents of a MIME user-data document, parsed as YAML. */
export async function nodeConfigs(text: string): Promise<Record<string, any>[]> {
  const parts = await parseMime(text);
  return parts.filter((p) => p.contentType === "application/node.eks.aws").map((p) => parseYaml(p.content));
}

/** One cloud-init write_files entry, its content decoded. */
export interface CloudConfigFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  /** The encoding the entry travelled in (`gz+b64`), when it had one. */
  encoding?: string;
}

/** The write_files entries of the `text/cloud-config` part, with `gz+b64` content decoded. */
export async function cloudConfigFiles(text: string): Promise<CloudConfigFile[]> {
  const parts = await parseMime(text);
  const cc = parts.find((p) => p.contentType === "text/cloud-config");
  if (!cc) return [];
  if (!cc.content.startsWith("#cloud-config\n")) throw new Error("cloud-config part lacks its #cloud-config header");
  const doc = parseYaml(cc.content) as { write_files?: CloudConfigFile[] };
  return (doc.write_files ?? []).map((f) => {
    if (f.encoding === undefined) return f;
    if (f.encoding !== "gz+b64") throw new Error(`${f.path}: unexpected write_files encoding ${f.encoding}`);
    return { ...f, content: gunzipSync(Buffer.from(f.content, "base64")).toString("utf8") };
  });
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
