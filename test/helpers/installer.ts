import { spawn } from "child_process";
import { createHash } from "crypto";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import * as path from "path";
import { renderUserData, NodeBootstrapOptions } from "../../userdata";
import { applyWriteFiles, cloudConfigFiles, parseMime } from "./userdata";

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
 * Lays the user data down in a throwaway root as cloud-init would (write_files), and
 * writes the installer part to `<root>/var/lib/cloud/instance/scripts/part-003`.
 * Returns the script's path.
 */
export async function prepareRoot(root: string, options: NodeBootstrapOptions, scriptText?: string): Promise<string> {
  const text = renderUserData("al2023", options).text;
  applyWriteFiles(await cloudConfigFiles(text), root);
  const parts = await parseMime(text);
  const script = scriptText ?? parts.find((p) => p.contentType === "text/x-shellscript")!.content;
  const scriptPath = path.join(root, "var/lib/cloud/instance/scripts/part-003");
  applyWriteFiles([{ path: "/var/lib/cloud/instance/scripts/part-003", content: script, permissions: "0700", owner: "root:root" }], root);
  return scriptPath;
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
