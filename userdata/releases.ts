import { Architecture } from "./types";

/**
 * The SOCI snapshotter release a node installs unless told otherwise.
 * v0.16.1 is the newest tag the Go module proxy served on 2026-11-23 (commit 61147fe7c929).
 */
export const DEFAULT_SOCI_VERSION = "0.16.1";

/** The oldest release we support: parallel pull arrived in 0.11.0 and index manifest v2 is the default since 0.10.0. */
export const MIN_SOCI_VERSION = "0.11.0";

/** The release that added `experimental_parallel_pull_as_fallback` (lazy for indexed images, parallel for the rest). */
export const PARALLEL_FALLBACK_SINCE = "0.14.0";

/** The release that reads `[prefetch]` (prefetch artifacts in SOCI indexes; config/fs.go PrefetchConfig). */
export const PREFETCH_SINCE = "0.13.0";

/** Upstream's release download base; `<base>/v<version>/<asset>`. */
export const DEFAULT_MIRROR_BASE_URL = "https://github.com/awslabs/soci-snapshotter/releases/download";

/**
 * sha256 digests of upstream release tarballs that are known from public sources.
 * Empty on purpose: we found no public record of these digests and never invent one.
 * Without an entry the installer verifies against the release's own `.sha256sum` file;
 * users who want a digest pinned in code set `sociSha256`.
 */
export const KNOWN_RELEASE_DIGESTS: Readonly<Record<string, string>> = {};

/** The Go-style architecture names upstream uses in asset names. */
export function releaseArch(arch: Architecture): "amd64" | "arm64" {
  return arch === "arm64" ? "arm64" : "amd64";
}

/** `soci-snapshotter-<version>-linux-<arch>.tar.gz` */
export function releaseAssetName(version: string, arch: Architecture): string {
  return `soci-snapshotter-${version}-linux-${releaseArch(arch)}.tar.gz`;
}

/** Parses `X.Y.Z` into numbers; returns undefined when malformed. */
export function parseVersion(version: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Compares two `X.Y.Z` versions; throws on malformed input. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) throw new Error(`cannot compare malformed versions '${a}' and '${b}'`);
  for (let i = 0; i < 3; i++) {
    if (pa[i] !== pb[i]) return pa[i] - pb[i];
  }
  return 0;
}
