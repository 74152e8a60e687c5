import { stringify } from "smol-toml";
import { SOCI_ROOT, SOCI_SOCKET } from "./paths";

/** The CRI image plugin's table in containerd 2.x's config (`version = 3`). */
const CRI_IMAGES = "io.containerd.cri.v1.images";

/**
 * The containerd snippet of the user data's NodeConfig, which nodeadm deep-merges into its containerd 2.x
 * base config. It declares SOCI's proxy snapshotter (so the installer can check SOCI through containerd)
 * but keeps CRI on overlayfs: the user data never points containerd at SOCI; the installer's drop-in does,
 * once SOCI serves ({@link containerdSociWiring}).
 * It carries a `io.containerd.cri.v1.images` key on purpose: with that key nodeadm stays on its
 * `version = 3` template; a snippet with only `[proxy_plugins.soci]` would take nodeadm's
 * v2-render-then-migrate path (eks-bootstrap.md §1).
 */
export function containerdBaseConfig(): Record<string, unknown> {
  return {
    version: 3,
    plugins: { [CRI_IMAGES]: { snapshotter: "overlayfs" } },
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

/** What the installer's drop-in adds once SOCI serves: CRI pulls and unpacks through the soci snapshotter. */
export function containerdSociWiring(): Record<string, unknown> {
  return {
    plugins: {
      [CRI_IMAGES]: {
        snapshotter: "soci",
        // Lazy loading needs the snapshot annotations that carry the image ref and layer digests.
        disable_snapshot_annotations: false,
      },
    },
  };
}

/** The user data's containerd snippet as TOML text. */
export function renderContainerdBaseConfig(): string {
  return stringify(containerdBaseConfig());
}

/** The drop-in's containerd snippet as TOML text. */
export function renderContainerdSociWiring(): string {
  return stringify(containerdSociWiring());
}
