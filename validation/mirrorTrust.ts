import { NodeGroupSettings } from "./nodeGroup";

/**
 * A warning when a node would download SOCI over plain http without a pinned sha256: the installer then checks the
 * tarball against a `.sha256sum` fetched over the same unauthenticated channel, so the check proves nothing.
 * Only AL2023 groups with SOCI on install a release.
 */
export function insecureMirrorWarning(s: Pick<NodeGroupSettings, "os" | "sociMode" | "sociMirrorUrl" | "sociSha256">, mirrorSetting: string, sha256Setting: string): string | undefined {
  if (s.os === "bottlerocket" || s.sociMode === "off") return undefined;
  if (!/^http:\/\//i.test(s.sociMirrorUrl) || s.sociSha256 !== undefined) return undefined;
  return (
    `${mirrorSetting}: '${s.sociMirrorUrl}' is plain http and no sha256 is pinned, so the checksum comes over the same ` +
    `unauthenticated channel as the tarball. Set ${sha256Setting} to the tarball's sha256, or serve the mirror over https.`
  );
}
