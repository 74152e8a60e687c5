import { DEFAULT_MIRROR_BASE_URL, DEFAULT_SOCI_VERSION, InstanceFacts, NodeBootstrapOptions } from "../../userdata";

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
    release: { version: DEFAULT_SOCI_VERSION, mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL },
    instance: M7I_XLARGE,
    architecture: "x86_64",
    ...overrides,
  };
}
