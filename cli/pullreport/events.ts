import { parseGoDuration } from "./duration";

/** The fields of a core/v1 Event the report reads (`kubectl get events -o json`, or kubernetes-event-exporter lines). */
export interface KubeEvent {
  metadata?: { name?: string; namespace?: string; creationTimestamp?: string };
  reason?: string;
  message?: string;
  type?: string;
  count?: number;
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  source?: { component?: string; host?: string };
  reportingComponent?: string;
  reportingInstance?: string;
  involvedObject?: { kind?: string; namespace?: string; name?: string; uid?: string; fieldPath?: string };
}

/** What one kubelet `Pulled` message says. */
export type PulledMessage =
  | {
      kind: "pulled";
      image: string;
      /** The pull itself, ms. */
      pullMs: number;
      /** Including the wait behind other pulls (serializeImagePulls), ms; kubelet 1.25+ (kubernetes#111772). */
      waitingMs?: number;
      /** kubelet 1.28+ (UNCONFIRMED exact version) appends `Image size: N bytes.` */
      sizeBytes?: number;
    }
  | { kind: "present"; image: string }
  | { kind: "unparsed"; reason: string };

// `Successfully pulled image "x" in 5.123456789s` (1.19-1.24), `... in 1.2s (1.2s including waiting)` (1.25-1.27),
// `... in 3.212s (3.212s including waiting). Image size: 72099410 bytes.` (1.28+).
const PULLED = /Successfully pulled image "([^"]+)" in (\S+?)(?: \((\S+) including waiting\))?(?:\. Image size: (\d+) bytes)?\.?\s*$/;
const PULLED_NO_DURATION = /^Successfully pulled image "([^"]+)"\s*$/;
const PRESENT = /Container image "([^"]+)" already present on machine/;

/** Parses one kubelet `Pulled` message. */
export function parsePulledMessage(message: string): PulledMessage {
  const text = message.trim();
  const present = PRESENT.exec(text);
  if (present) return { kind: "present", image: present[1] };
  const m = PULLED.exec(text);
  if (m) {
    const pullMs = parseGoDuration(m[2]);
    if (pullMs === undefined) return { kind: "unparsed", reason: `duration '${m[2]}' is not a Go duration` };
    const result: PulledMessage = { kind: "pulled", image: m[1], pullMs };
    if (m[3] !== undefined) {
      const waitingMs = parseGoDuration(m[3]);
      if (waitingMs === undefined) return { kind: "unparsed", reason: `duration '${m[3]}' is not a Go duration` };
      result.waitingMs = waitingMs;
    }
    if (m[4] !== undefined) result.sizeBytes = Number(m[4]);
    return result;
  }
  if (PULLED_NO_DURATION.test(text)) return { kind: "unparsed", reason: "kubelet before 1.19 did not report a duration" };
  return { kind: "unparsed", reason: "not a kubelet pull message" };
}

/**
 * Reads events from what the user gave: `kubectl get events -o json` (a List), a JSON array, one event object, or
 * newline-delimited JSON (kubernetes-event-exporter's stdout, whose own log lines are skipped).
 */
export function readEvents(text: string): KubeEvent[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  try {
    return eventsFrom(JSON.parse(trimmed));
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  const events: KubeEvent[] = [];
  trimmed.split(/\r?\n/).forEach((line, i) => {
    const l = line.trim();
    if (!l) return;
    let value: unknown;
    try {
      value = JSON.parse(l);
    } catch {
      throw new Error(`input line ${i + 1} is not JSON; expected 'kubectl get events -A -o json' output or one event per line`);
    }
    events.push(...eventsFrom(value));
  });
  return events;
}

function isEvent(v: unknown): v is KubeEvent {
  return typeof v === "object" && v !== null && ("reason" in v || "involvedObject" in v) && "message" in v;
}

function eventsFrom(value: unknown): KubeEvent[] {
  if (Array.isArray(value)) return value.filter(isEvent);
  if (typeof value === "object" && value !== null && Array.isArray((value as { items?: unknown }).items)) {
    return ((value as { items: unknown[] }).items).filter(isEvent);
  }
  return isEvent(value) ? [value] : [];
}

/** Node name → labels, from `kubectl get nodes -o json`. */
export function readNodeLabels(text: string): Map<string, Record<string, string>> {
  const parsed = JSON.parse(text) as { items?: { metadata?: { name?: string; labels?: Record<string, string> } }[] };
  const map = new Map<string, Record<string, string>>();
  for (const item of parsed.items ?? []) {
    if (item.metadata?.name) map.set(item.metadata.name, item.metadata.labels ?? {});
  }
  return map;
}

/** `namespace/pod` → node, from `kubectl get pods -A -o json`, for events that name no host. */
export function readPodNodes(text: string): Map<string, string> {
  const parsed = JSON.parse(text) as { items?: { metadata?: { name?: string; namespace?: string }; spec?: { nodeName?: string } }[] };
  const map = new Map<string, string>();
  for (const item of parsed.items ?? []) {
    if (item.metadata?.name && item.spec?.nodeName) map.set(`${item.metadata.namespace ?? "default"}/${item.metadata.name}`, item.spec.nodeName);
  }
  return map;
}

/** The node an event happened on: `source.host`, else `reportingInstance` (events.k8s.io-era kubelets), else the pod's node. */
export function eventNode(event: KubeEvent, podNodes?: Map<string, string>): string | undefined {
  const host = event.source?.host || event.reportingInstance;
  if (host) return host;
  const obj = event.involvedObject;
  if (obj?.kind === "Pod" && obj.name) return podNodes?.get(`${obj.namespace ?? "default"}/${obj.name}`);
  return undefined;
}

/** When the event happened, ms since the epoch (0 when unknown). */
export function eventTime(event: KubeEvent): number {
  for (const t of [event.eventTime, event.firstTimestamp, event.lastTimestamp, event.metadata?.creationTimestamp]) {
    if (t) {
      const ms = Date.parse(t);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  return 0;
}
