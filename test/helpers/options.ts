import { createHash } from "crypto";
import { DEFAULT_MIRROR_BASE_URL, DEFAULT_SOCI_VERSION, InstanceFacts, NodeBootstrapOptions, ReleaseDigests } from "../../userdata";

/**
 * TEST ONLY: stand-in sha256 digests for the default release (0.16.1), whose real digests soci-eks does not ship.
 * They are the sha256 of a test string, so they match no tarball (a node given them refuses any release) and
 * compress like real digests (the size tests measure them). Tests that render user data with the default version
 * pass them, as a user passes the real ones (`sociSha256`).
 */
export const TEST_ONLY_DIGEST_AMD64 = createHash("sha256").update("soci-eks test-only digest amd64").digest("hex");
export const TEST_ONLY_DIGEST_ARM64 = createHash("sha256").update("soci-eks test-only digest arm64").digest("hex");
/** {@link TEST_ONLY_DIGEST_AMD64} and {@link TEST_ONLY_DIGEST_ARM64} as renderer options. */
export const TEST_ONLY_DIGESTS: ReleaseDigests = { amd64: TEST_ONLY_DIGEST_AMD64, arm64: TEST_ONLY_DIGEST_ARM64 };
/** The same as the `sociSha256` setting: `amd64=…,arm64=…`. */
export const TEST_ONLY_SOCI_SHA256 = `amd64=${TEST_ONLY_DIGEST_AMD64},arm64=${TEST_ONLY_DIGEST_ARM64}`;

export const M7I_XLARGE: InstanceFacts = {
  instanceType: "m7i.xlarge",
  vcpus: 4,
  memoryMiB: 16384,
  architectures: ["x86_64"],
  gpus: 0,
};

/** Bootstrap options for a default lazy node, with overrides. */
export function bootstrapOptions(overrides: Partial<NodeBootstrapOptions> = {}): NodeBootstrapOptions {
  return {
    mode: "lazy",
    release: { version: DEFAULT_SOCI_VERSION, mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL, sha256: TEST_ONLY_DIGESTS },
    instance: M7I_XLARGE,
    architecture: "x86_64",
    ...overrides,
  };
}
