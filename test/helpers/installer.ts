import { spawn } from "child_process";
import { createHash } from "crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import * as path from "path";
import { renderUserData, NodeBootstrapOptions } from "../../userdata";
import { INSTALLER_PATH } from "../../userdata/al2023";
import { applyWriteFiles, cloudConfigFiles } from "./userdata";

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
 * Lays the user data down in a throwaway root as cloud-init would (write_files, the installer included)
 * and returns the installer's path there (`<root>/usr/local/libexec/soci-eks/install-soci.sh`), which the
 * user data's shell part runs on a node. `scriptText` replaces the installer the user data wrote.
 */
export async function prepareRoot(root: string, options: NodeBootstrapOptions, scriptText?: string): Promise<string> {
  const text = renderUserData("al2023", options).text;
  applyWriteFiles(await cloudConfigFiles(text), root);
  if (scriptText !== undefined) applyWriteFiles([{ path: INSTALLER_PATH, content: scriptText, permissions: "0755", owner: "root:root" }], root);
  return path.join(root, INSTALLER_PATH);
}

/** path → "mode sha256" for every file under root (a content snapshot). */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = path.join(dir, name);
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
