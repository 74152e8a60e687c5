import { stringify } from "smol-toml";
import { SOCI_ROOT, SOCI_SOCKET } from "./paths";

/**
 * The containerd snippet nodeadm deep-merges into its containerd 2.x base config.
 * It carries a `io.containerd.cri.v1.images` key on purpose: with that key nodeadm stays on its
 * `version = 3` template; a snippet with only `[proxy_plugins.soci]` would take nodeadm's
 * v2-render-then-migrate path (eks-bootstrap.md §1).
 */
export function containerdSociConfig(): Record<string, unknown> {
  return {
    version: 3,
    plugins: {
      "io.containerd.cri.v1.images": {
        snapshotter: "soci",
        // Lazy loading needs the snapshot annotations that carry the image ref and layer digests.
        disable_snapshot_annotations: false,
      },
    },
    proxy_plugins: {
      soci: {
        type: "snapshot",
        address: SOCI_SOCKET,
        // Lets kubelet account SOCI's disk use and garbage-collect its snapshots.
        exports: { root: SOCI_ROOT },
      },
    },
  };
}

/** The containerd snippet as TOML text. */
export function renderContainerdSociConfig(): string {
  return stringify(containerdSociConfig());
}
