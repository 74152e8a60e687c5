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

/** The architectures upstream publishes a release tarball for, as its asset names spell them. */
export const RELEASE_ARCHS = ["amd64", "arm64"] as const;
/** `amd64` or `arm64`. */
export type ReleaseArch = (typeof RELEASE_ARCHS)[number];
/** A sha256 (64 lowercase hex) per release architecture; an architecture may be missing. */
export type ReleaseDigests = Partial<Record<ReleaseArch, string>>;

/**
 * sha256 digests of upstream's release tarballs (`soci-snapshotter-<version>-linux-<arch>.tar.gz`), shipped so that a
 * node never trusts a checksum fetched from the place it fetched the tarball from.
 *
 * Provenance: copied from the third-party Bazel rules repository ducminhle/rules_soci, file soci/versions.bzl, which
 * pins them for `http_archive` (Bazel fails the download when a tarball does not match). Read through a code index of
 * public repositories on 2026-12-07. They were NOT checked against GitHub's release assets here: this machine has no
 * internet access. docs/security.md ("Release pinning") says the same.
 *
 * The default release (0.16.1) is not here: no public record of its digests was found, so a node group that installs
 * it needs the user's `sociSha256`.
 */
export const KNOWN_RELEASE_DIGESTS: Readonly<Record<string, Readonly<Record<ReleaseArch, string>>>> = {
  "0.14.1": {
    amd64: "1a8dba2a14c1ba8b65e0b935ef697e22eb8324759961a65296e656dd724d9441",
    arm64: "c01ecb402ac7930bcfcf6571f76da541d7054626337d7211dac0b11a9bd05ddc",
  },
  "0.14.0": {
    amd64: "c21e0fa776699919706b18e226837278f66dfc7b9a8509a32a043afe4b5efbbc",
    arm64: "ba6816af489428ff636f06986243b9fba5ca61b7c4fe9acfaa112763ed80a39d",
  },
  "0.13.0": {
    amd64: "8951d87d6d17d719f7155d89f25ce08e139c3b48ef3323ee8e347de2d8c2d555",
    arm64: "dab5117cc50b0343521ae9f6dc691b4d3ab5f7eb19404d1f7c35524b48bcdad5",
  },
};

/** Where {@link KNOWN_RELEASE_DIGESTS} come from, for messages. */
export const KNOWN_RELEASE_DIGESTS_SOURCE = "ducminhle/rules_soci soci/versions.bzl, read 2026-12-07, not checked against GitHub";

/** The digest soci-eks ships for one release tarball, if any. */
export function shippedDigest(version: string, arch: ReleaseArch): string | undefined {
  return Object.prototype.hasOwnProperty.call(KNOWN_RELEASE_DIGESTS, version) ? KNOWN_RELEASE_DIGESTS[version][arch] : undefined;
}

/**
 * The digest a node of `arch` checks its tarball against: the user's for that architecture, else the shipped one.
 * Validation (validation/releaseDigests.ts) refuses a user digest that differs from a shipped one.
 */
export function releaseDigest(version: string, arch: ReleaseArch, user: ReleaseDigests | undefined): string | undefined {
  return user?.[arch] ?? shippedDigest(version, arch);
}

/** The Go-style architecture names upstream uses in asset names (EC2's `x86_64` is `amd64`). */
export function releaseArch(arch: Architecture | ReleaseArch): ReleaseArch {
  return arch === "arm64" ? "arm64" : "amd64";
}

/** `soci-snapshotter-<version>-linux-<arch>.tar.gz` */
export function releaseAssetName(version: string, arch: Architecture | ReleaseArch): string {
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
