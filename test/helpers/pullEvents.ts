import { KubeEvent } from "../../cli/pullreport/events";

/** The image the pull-report tests pull. */
export const IMAGE = "registry.example/app:v1";

/** One kubelet Pulled event of {@link IMAGE} on `node` (a cold pull of `dur`, e.g. "310ms") at time `t`. */
export function pulled(node: string, dur: string, t: string): KubeEvent {
  return {
    reason: "Pulled",
    message: `Successfully pulled image "${IMAGE}" in ${dur} (${dur} including waiting)`,
    firstTimestamp: t,
    source: { component: "kubelet", host: node },
    involvedObject: { kind: "Pod", namespace: "d", name: `p-${node}` },
  };
}
