import { readFileSync } from "fs";
import * as path from "path";

/**
 * The package root: `userdata/` and `dist/userdata/` both resolve to it, so the
 * real `.sh` and unit files are read the same way from source and from a build.
 */
function packageRoot(): string {
  const here = __dirname;
  const parts = here.split(path.sep);
  const distIndex = parts.lastIndexOf("dist");
  return distIndex >= 0 ? parts.slice(0, distIndex).join(path.sep) : path.resolve(here, "..");
}

const cache = new Map<string, string>();

/** Reads a file shipped under `userdata/` (e.g. `scripts/al2023-install-soci.sh`), once. */
export function readAsset(relativePath: string): string {
  const cached = cache.get(relativePath);
  if (cached !== undefined) return cached;
  const text = readFileSync(path.join(packageRoot(), "userdata", relativePath), "utf8");
  cache.set(relativePath, text);
  return text;
}
