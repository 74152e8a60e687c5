import { spawn } from "child_process";
import { createHash } from "crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from "fs";
import * as path from "path";
import { NODE_FILES_BUNDLE } from "../../userdata/paths";
import { BundleEntry, bundleGzip, readBundle } from "../../userdata/bundle";
import { gunzipSync } from "zlib";
import { renderUserData, NodeBootstrapOptions } from "../../userdata";
import { INSTALLER_PATH } from "../../userdata/al2023";
import { applyWriteFiles, parseMime, writeFilesEntries } from "./userdata";

export interface RunResult {
  code: number | null;
  stderr: string;
}

/** Runs a script with bash, asynchronously (loopback servers in this process keep answering). */
export function runBash(script: string, env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", [script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stdout.on("data", (d) => (stderr += d.toString()));
    child.stderr.on("data", (d) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

/**
 * Lays the user data down in a throwaway root as cloud-init would: write_files (the installer and the node-files
 * archive, which the installer unpacks) and the shell part, where cloud-init keeps it
 * (`<root>/var/lib/cloud/instance/scripts/part-003`), whose path it returns: run it as cloud-final does (it runs
 * the installer with the document's onSociFailure). `scriptText` replaces the installer the user data wrote.
 */
export async function prepareRoot(root: string, options: NodeBootstrapOptions, scriptText?: string): Promise<string> {
  const text = renderUserData("al2023", options).text;
  for (const f of await writeFilesEntries(text)) {
    const dest = path.join(root, f.path);
    mkdirSync(path.dirname(dest), { recursive: true });
    writeFileSync(dest, f.bytes);
    chmodSync(dest, parseInt(f.permissions, 8));
  }
  if (scriptText !== undefined) applyWriteFiles([{ path: INSTALLER_PATH, content: scriptText, permissions: "0755", owner: "root:root" }], root);
  const shellPart = (await parseMime(text)).find((p) => p.contentType === "text/x-shellscript");
  if (!shellPart) throw new Error("the user data has no shell part");
  const part = path.join(root, "var/lib/cloud/instance/scripts/part-003");
  applyWriteFiles([{ path: "/var/lib/cloud/instance/scripts/part-003", content: shellPart.content, permissions: "0700", owner: "root:root" }], root);
  return part;
}

/** path → "mode sha256" for every file under root (a content snapshot). */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
      if (lstatSync(p).isSymbolicLink()) {
        out.set(path.relative(root, p), `-> ${readlinkSync(p)}`);
        continue;
      }
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.set(path.relative(root, p), `${(st.mode & 0o7777).toString(8)} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`);
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

export function replaceInFile(file: string, from: RegExp, to: string): void {
  writeFileSync(file, readFileSync(file, "utf8").replace(from, to));
}

/** Changes the node-files bundle cloud-init wrote under root: `edit` gets its entries and returns the new ones. */
export function editNodeFiles(root: string, edit: (entries: BundleEntry[]) => BundleEntry[]): void {
  const file = path.join(root, NODE_FILES_BUNDLE);
  writeFileSync(file, bundleGzip(edit(readBundle(readFileSync(file), gunzipSync))));
}

/** {@link replaceInFile} on a member of the node-files bundle (the installer unbundles it again at every run). */
export function replaceInNodeFiles(root: string, member: string, from: RegExp, to: string): void {
  editNodeFiles(root, (entries) =>
    entries.map((e) => (e.path === `/${member}` ? { ...e, content: e.content.toString().replace(from, to) } : e)),
  );
}

/**
 * A PATH of one directory, `dir`: a link to every command on this process's PATH (the first of each name) except
 * `without`, plus `stubs` (name → shell script text). The installer then runs with those commands missing or stubbed.
 */
export function restrictedPath(dir: string, without: string[], stubs: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  const skip = new Set([...without, ...Object.keys(stubs)]);
  for (const from of (process.env.PATH ?? "").split(":")) {
    if (!from || !existsSync(from)) continue;
    for (const name of readdirSync(from)) {
      const to = path.join(dir, name);
      if (skip.has(name) || existsSync(to)) continue;
      symlinkSync(path.join(from, name), to);
    }
  }
  for (const [name, text] of Object.entries(stubs)) {
    writeFileSync(path.join(dir, name), text);
    chmodSync(path.join(dir, name), 0o755);
  }
  return dir;
}

/** The pids of the processes whose environment holds `NAME=value` (e.g. an installer's SOCI_EKS_ROOT). */
export function processesWithEnv(name: string, value: string): number[] {
  const want = `${name}=${value}`;
  const pids: number[] = [];
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/environ`, "latin1").split("\0").includes(want)) pids.push(Number(p));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return pids;
}

/** SIGKILLs every process whose environment holds `NAME=value`, as systemd kills a unit's cgroup (again while any is left). */
export function killAllWithEnv(name: string, value: string): void {
  for (let round = 0; round < 20; round++) {
    const pids = processesWithEnv(name, value);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // ended meanwhile
      }
    }
  }
}
