/**
 * TEST ONLY: the components with the release digests an AL2023 node group of the default release (0.16.1) needs.
 * soci-eks ships no digest for 0.16.1, so every such group must pin one (`soci.sha256`); tests that are not about
 * release pinning get the stand-ins of test/helpers/options.ts (they match no real tarball) for both architectures.
 * A group that runs Bottlerocket or sociMode off (neither installs a release, and validation refuses a digest there), or
 * names `soci.sha256` itself (also as `undefined`, to go without), is left as it is.
 */
import * as pulumi from "@pulumi/pulumi";
import { TEST_ONLY_SOCI_SHA256 } from "./options";

type Components = typeof import("../../components");
type Pinnable = { os?: string; sociMode?: string; soci?: { sha256?: string; version?: string; mirrorBaseUrl?: string } };

/** `g` with the test-only digests in `soci.sha256`, unless it runs Bottlerocket or sociMode off, or names `soci.sha256` itself. */
export function withTestDigest<T extends Pinnable>(g: T): T {
  if (g.os === "bottlerocket" || g.sociMode === "off" || (g.soci !== undefined && "sha256" in g.soci)) return g;
  return { ...g, soci: { ...g.soci, sha256: TEST_ONLY_SOCI_SHA256 } };
}

/** SociCluster, SociNodeGroup, sociForEks, lookupSociForEks and sociForEksSelfManaged whose groups get {@link withTestDigest}. */
export function pinnedComponents(c: Components): Pick<Components, "SociCluster" | "SociNodeGroup" | "sociForEks" | "lookupSociForEks" | "sociForEksSelfManaged" | "lookupSociForEksSelfManaged"> {
  type ClusterArgs = import("../../components").SociClusterArgs;
  type ClusterCreateArgs = import("../../components").SociClusterCreateArgs;
  type GroupArgs = import("../../components").SociNodeGroupArgs;
  type GroupCreateArgs = import("../../components").SociNodeGroupCreateArgs;
  const clusterArgs = <A extends { nodeGroups: Pinnable[] }>(a: A): A => ({ ...a, nodeGroups: a.nodeGroups.map(withTestDigest) });
  class SociCluster extends c.SociCluster {
    static override create(name: string, args: ClusterCreateArgs, opts?: pulumi.ComponentResourceOptions) {
      return c.SociCluster.create(name, clusterArgs(args), opts);
    }
    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
      super(name, clusterArgs(args), opts);
    }
  }
  class SociNodeGroup extends c.SociNodeGroup {
    static override create(name: string, args: GroupCreateArgs, opts?: pulumi.ComponentResourceOptions) {
      return c.SociNodeGroup.create(name, withTestDigest(args), opts);
    }
    constructor(name: string, args: GroupArgs, opts?: pulumi.ComponentResourceOptions) {
      super(name, withTestDigest(args), opts);
    }
  }
  return {
    SociCluster,
    SociNodeGroup,
    sociForEks: ((name, args, opts) => c.sociForEks(name, withTestDigest(args), opts)) as Components["sociForEks"],
    lookupSociForEks: ((name, args, opts) => c.lookupSociForEks(name, withTestDigest(args), opts)) as Components["lookupSociForEks"],
    sociForEksSelfManaged: ((name, args) => c.sociForEksSelfManaged(name, withTestDigest(args))) as Components["sociForEksSelfManaged"],
    lookupSociForEksSelfManaged: ((name, args, opts) => c.lookupSociForEksSelfManaged(name, withTestDigest(args), opts)) as Components["lookupSociForEksSelfManaged"],
  };
}
