/**
 * The release digest setting (`sociSha256`) and the rule that every AL2023 document with SOCI on carries a sha256
 * for each architecture it can run on: the installer checks the tarball against the user data only, never against a
 * checksum fetched from the mirror. One parser and one rule for the components, the stack config, the CLI, the
 * @pulumi/eks plug-in and the component package.
 */
import { KNOWN_RELEASE_DIGESTS, KNOWN_RELEASE_DIGESTS_SOURCE, parseVersion, RELEASE_ARCHS, ReleaseArch, ReleaseDigests, releaseAssetName, shippedDigest } from "../userdata/releases";
import type { NodeGroupSettings, SettingNamer } from "./nodeGroup";
import { ConfigProblem } from "./problems";

const DIGEST = /^[0-9a-f]{64}$/;

/** `sociSha256` parsed: one digest (a document for one architecture), or a digest per architecture. */
export type DigestSetting = { kind: "one"; digest: string } | { kind: "per-arch"; digests: ReleaseDigests };

/**
 * Parses `sociSha256`: a bare 64-hex digest, or `amd64=<hex>,arm64=<hex>` (either key or both, any order).
 * Returns the reason it is malformed as a string.
 */
export function parseDigestSetting(value: string): DigestSetting | string {
  if (DIGEST.test(value)) return { kind: "one", digest: value };
  if (!value.includes("=")) return "is not a sha256 digest (64 lowercase hex characters) nor amd64=<digest>,arm64=<digest>";
  const digests: ReleaseDigests = {};
  for (const entry of value.split(",")) {
    const eq = entry.indexOf("=");
    const key = eq < 0 ? entry : entry.slice(0, eq);
    const digest = eq < 0 ? "" : entry.slice(eq + 1);
    if (!(RELEASE_ARCHS as readonly string[]).includes(key)) return `names '${key}', which is not a release architecture (amd64, arm64)`;
    if (digests[key as ReleaseArch] !== undefined) return `names ${key} twice`;
    if (!DIGEST.test(digest)) return `gives ${key} '${digest}', which is not a sha256 digest (64 lowercase hex characters)`;
    digests[key as ReleaseArch] = digest;
  }
  return { kind: "per-arch", digests };
}

/** The example of the setting's value for the given architectures, e.g. `amd64=<sha256 of ...>,arm64=<...>`. */
function shapeFor(version: string, archs: readonly ReleaseArch[]): string {
  return archs.map((a) => `${a}=<sha256 of ${releaseAssetName(version, a)}>`).join(",");
}

/** The versions whose digests soci-eks ships, newest first. */
function shippedVersions(): string[] {
  return Object.keys(KNOWN_RELEASE_DIGESTS);
}

/** The problem of a malformed `sociSha256`, if any (only meaningful where the release is installed: AL2023, SOCI on). */
export function digestSyntaxProblems(s: Pick<NodeGroupSettings, "sociSha256" | "sociVersion">, name: SettingNamer): ConfigProblem[] {
  if (s.sociSha256 === undefined) return [];
  const parsed = parseDigestSetting(s.sociSha256);
  if (typeof parsed !== "string") return [];
  return [
    {
      setting: name("sociSha256"),
      value: s.sociSha256,
      reason: parsed,
      fix: `Set ${name("sociSha256")} to the output of \`sha256sum soci-snapshotter-<version>-linux-<arch>.tar.gz\` (one architecture), or to amd64=<digest>,arm64=<digest>.`,
    },
  ];
}

/**
 * The user's digests for a document that runs on `archs`: a bare digest names the one architecture's tarball.
 * Undefined when unset or malformed (the rules report that).
 */
export function userReleaseDigests(value: string | undefined, archs: readonly ReleaseArch[]): ReleaseDigests | undefined {
  if (value === undefined) return undefined;
  const parsed = parseDigestSetting(value);
  if (typeof parsed === "string") return undefined;
  if (parsed.kind === "per-arch") return parsed.digests;
  return archs.length === 1 ? { [archs[0]]: parsed.digest } : undefined;
}

/**
 * The rule: a document that installs the release (AL2023, SOCI on) and runs on `archs` must carry a sha256 for each,
 * the user's or a shipped one. Refused: an architecture with neither; one digest for a document that runs on two
 * architectures (which tarball would it be?); a user digest that differs from the one soci-eks ships for the version
 * (the mirror would have to serve other bytes than upstream's release, or the digest was copied wrong). A malformed
 * value is {@link digestSyntaxProblems}'s and not reported here.
 */
export function releaseDigestProblems(s: Pick<NodeGroupSettings, "sociSha256" | "sociVersion">, archs: readonly ReleaseArch[], name: SettingNamer): ConfigProblem[] {
  const setting = name("sociSha256");
  const version = s.sociVersion;
  const parsed = s.sociSha256 === undefined ? undefined : parseDigestSetting(s.sociSha256);
  if (typeof parsed === "string" || !parseVersion(version)) return []; // the syntax and version rules report these
  const sorted = RELEASE_ARCHS.filter((a) => archs.includes(a));
  const shipped = shippedVersions();
  const orShipped = `or set ${name("sociVersion")} to a version whose digests soci-eks ships (${shipped.join(", ")})`;
  if (parsed?.kind === "one" && sorted.length > 1) {
    return [
      {
        setting,
        value: s.sociSha256,
        reason: `is one digest, but the document runs on ${sorted.join(" and ")} nodes, one tarball each`,
        fix: `Set ${setting} to ${shapeFor(version, sorted)}, or make the document for one architecture.`,
      },
    ];
  }
  const user = userReleaseDigests(s.sociSha256, sorted) ?? {};
  const problems: ConfigProblem[] = [];
  for (const arch of sorted) {
    const known = shippedDigest(version, arch);
    const given = user[arch];
    if (given !== undefined && known !== undefined && given !== known) {
      problems.push({
        setting,
        value: s.sociSha256,
        reason: `gives ${releaseAssetName(version, arch)} the sha256 ${given}, but soci-eks ships ${known} for it (from ${KNOWN_RELEASE_DIGESTS_SOURCE}); a node would refuse upstream's tarball, or install one that is not upstream's`,
        fix: `Remove the ${arch} digest from ${setting} (the shipped one is used), or check which tarball your mirror serves against upstream's release.`,
      });
    }
  }
  const missing = sorted.filter((a) => user[a] === undefined && shippedDigest(version, a) === undefined);
  if (missing.length > 0) {
    const assets = missing.map((a) => releaseAssetName(version, a)).join(" and ");
    problems.push({
      setting,
      ...(s.sociSha256 !== undefined ? { value: s.sociSha256 } : {}),
      reason:
        `${parsed === undefined ? "is unset: no sha256" : "gives no sha256"} for ${assets}, and soci-eks ships none for ${version}: a node checks the tarball only against a digest in its user data, ` +
        "never against a checksum from the mirror",
      fix:
        `Set ${setting} to ${sorted.length > 1 || parsed?.kind === "per-arch" ? shapeFor(version, sorted) : `the sha256 of ${assets}`} ` +
        `(from the release page's .sha256sum files, checked against a second source; see docs/security.md, "Release pinning"), ${orShipped}.`,
    });
  }
  return problems;
}
