import { al2023Renderer } from "./al2023";
import { bottlerocketRenderer } from "./bottlerocket";
import { NodeBootstrapOptions, OsFamily, RenderedUserData, UserDataRenderer } from "./types";

export * from "./types";
export { DEFAULT_SOCI_VERSION, DEFAULT_MIRROR_BASE_URL, MIN_SOCI_VERSION, KNOWN_RELEASE_DIGESTS, RELEASE_ARCHS } from "./releases";
export type { ReleaseArch, ReleaseDigests } from "./releases";
export { parallelTuning } from "./sociConfig";
export { bottlerocketModeError, BOTTLEROCKET_LAZY_REASON } from "./bottlerocket";

/**
 * One renderer per OS family. Adding a family means one new module and one line here.
 */
const renderers: { [F in OsFamily]?: UserDataRenderer } = {
  al2023: al2023Renderer,
  bottlerocket: bottlerocketRenderer,
};

/** The OS families that have a renderer. */
export function supportedOsFamilies(): OsFamily[] {
  return Object.keys(renderers) as OsFamily[];
}

/** Renders a node's user data for an OS family. */
export function renderUserData(os: OsFamily, options: NodeBootstrapOptions): RenderedUserData {
  const renderer = renderers[os];
  if (!renderer) throw new Error(`no user-data renderer for OS family '${os}' (have: ${supportedOsFamilies().join(", ")})`);
  return renderer.render(options);
}
