import { spawnSync } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { gunzipSync } from "zlib";
import { simpleParser } from "mailparser";
import { parse as parseYaml } from "yaml";
import { parse as parseToml } from "smol-toml";
import { NODE_FILES_BUNDLE } from "../../userdata/paths";
import { readBundle } from "../../userdata/bundle";

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
  /** How the entry travelled: `gz+b64`, or `bundle` for a file unpacked from the node-files archive. */
  encoding?: string;
}

/** A raw write_files entry as the YAML carries it. */
interface RawWriteFile {
  path: string;
  content: string;
  permissions: string;
  owner: string;
  encoding?: string;
}

/** The write_files entries of the `text/cloud-config` part, content decoded to bytes (`gz+b64` or `b64`). */
export async function writeFilesEntries(text: string): Promise<(Omit<RawWriteFile, "content"> & { bytes: Buffer })[]> {
  const parts = await parseMime(text);
  const cc = parts.find((p) => p.contentType === "text/cloud-config");
  if (!cc) return [];
  if (!cc.content.startsWith("#cloud-config\n")) throw new Error("cloud-config part lacks its #cloud-config header");
  const doc = parseYaml(cc.content) as { write_files?: RawWriteFile[] };
  return (doc.write_files ?? []).map(({ content, ...f }) => {
    if (f.encoding === undefined) return { ...f, bytes: Buffer.from(content, "utf8") };
    if (f.encoding === "gz+b64") return { ...f, bytes: gunzipSync(Buffer.from(content, "base64")) };
    if (f.encoding === "b64") return { ...f, bytes: Buffer.from(content, "base64") };
    throw new Error(`${f.path}: unexpected write_files encoding ${f.encoding}`);
  });
}

/** The node-files bundle's members (userdata/bundle.ts; the node's reader is the installer's `unbundle`). */
export function unpackBundle(bundle: Buffer): CloudConfigFile[] {
  return readBundle(bundle, gunzipSync).map((e) => ({
    path: e.path,
    content: Buffer.isBuffer(e.content) ? e.content.toString("utf8") : e.content,
    permissions: e.permissions,
    owner: "root:root",
    encoding: "bundle",
  }));
}

/**
 * Unbundles `bundle` under `root` with the installer's own `unbundle` function (its definitions up to its ERR trap,
 * then `gzip -dc | unbundle`, as the installer runs it), by bash. Returns bash's exit status and stderr.
 */
export function unbundleWithInstaller(bundle: Buffer, root: string): { status: number | null; stderr: string } {
  const installer = readFileSync(path.join(__dirname, "..", "..", "..", "userdata/scripts/al2023-install-soci.sh"), "utf8");
  const fn = /^unbundle\(\) \{\n[\s\S]*?\n\}\n/m.exec(installer);
  if (!fn) throw new Error("the installer defines no unbundle()");
  const file = path.join(mkdtempSync(path.join(tmpdir(), "soci-eks-bundle-")), "node-files.gz");
  writeFileSync(file, bundle);
  mkdirSync(path.join(root, "run/soci-eks"), { recursive: true });
  const r = spawnSync("bash", ["-c", `set -Eeuo pipefail\nROOT=$1\nRUN_DIR=$1/run/soci-eks\n${fn[0]}gzip -dc "$2" | LC_ALL=C unbundle`, "x", root, file], { encoding: "utf8" });
  rmSync(path.dirname(file), { recursive: true, force: true });
  return { status: r.status, stderr: r.stderr };
}

/**
 * The files the user data puts on the node, content decoded: the cloud-config part's write_files, with the
 * node-files bundle (NODE_FILES_BUNDLE) replaced by its members, as the installer unbundles it.
 */
export async function cloudConfigFiles(text: string): Promise<CloudConfigFile[]> {
  const out: CloudConfigFile[] = [];
  for (const { bytes, ...f } of await writeFilesEntries(text)) {
    if (f.path === NODE_FILES_BUNDLE) out.push(...unpackBundle(bytes));
    else out.push({ ...f, content: bytes.toString("utf8") });
  }
  return out;
}

/** Writes the files under `root`, as cloud-init's write_files (and the shell part's unpacking) would on the node. */
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
