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

/** Input that is not what its flag expects; the message says what it is instead ("is not JSON …", "holds Nodes, not Events"). */
export class InputError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "InputError";
  }
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A string field, or undefined when it is absent or of another type. */
function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** The string fields of an object, or undefined when it is not one. */
function strings<K extends string>(v: unknown, keys: readonly K[]): Partial<Record<K, string>> | undefined {
  if (!isObject(v)) return undefined;
  const out: Partial<Record<K, string>> = {};
  for (const k of keys) {
    const s = str(v[k]);
    if (s !== undefined) out[k] = s;
  }
  return out;
}

/**
 * An Event with only the fields the report reads, each of the type it expects (a field of another type is
 * dropped), or undefined when the value is not an event (it needs a string `message` and a `reason` or an
 * `involvedObject`). Malformed input therefore never reaches the report as a wrong type.
 */
export function toEvent(v: unknown): KubeEvent | undefined {
  if (!isObject(v) || typeof v.message !== "string" || !(typeof v.reason === "string" || isObject(v.involvedObject))) return undefined;
  const e: KubeEvent = { message: v.message };
  const reason = str(v.reason);
  if (reason !== undefined) e.reason = reason;
  const type = str(v.type);
  if (type !== undefined) e.type = type;
  if (typeof v.count === "number" && Number.isFinite(v.count)) e.count = v.count;
  for (const k of ["firstTimestamp", "lastTimestamp", "eventTime"] as const) {
    const t = str(v[k]);
    if (t !== undefined) e[k] = t;
  }
  const reportingComponent = str(v.reportingComponent);
  if (reportingComponent !== undefined) e.reportingComponent = reportingComponent;
  const reportingInstance = str(v.reportingInstance);
  if (reportingInstance !== undefined) e.reportingInstance = reportingInstance;
  const metadata = strings(v.metadata, ["name", "namespace", "creationTimestamp"] as const);
  if (metadata) e.metadata = metadata;
  const source = strings(v.source, ["component", "host"] as const);
  if (source) e.source = source;
  const involvedObject = strings(v.involvedObject, ["kind", "namespace", "name", "uid", "fieldPath"] as const);
  if (involvedObject) e.involvedObject = involvedObject;
  return e;
}

/**
 * Why an object that says it is an Event (`kind: Event`) is not one {@link toEvent} can read: the field that is
 * wrong, as `message`, `reason` or `involvedObject` (`'involvedObject' is null and 'reason' is absent`).
 */
function eventDefect(item: Json): string {
  const shown = (v: unknown): string => (v === undefined ? "absent" : v === null ? "null" : Array.isArray(v) ? "a list" : `a ${typeof v}`);
  if (typeof item.message !== "string") return `'message' is ${shown(item.message)}, not a string`;
  return `'reason' is ${shown(item.reason)} and 'involvedObject' is ${shown(item.involvedObject)}; an Event needs a string 'reason' or an 'involvedObject' object`;
}

/**
 * What a parsed JSON value holds: its events, how many items were something else (and of which kind), and, for the
 * first item that says it is an Event but cannot be read as one, which field is wrong.
 */
function eventsFrom(value: unknown): { events: KubeEvent[]; others: number; otherKind?: string; badEvent?: { index: number; defect: string } } {
  const items = Array.isArray(value) ? value : isObject(value) && Array.isArray(value.items) ? value.items : [value];
  const events: KubeEvent[] = [];
  let others = 0;
  let otherKind: string | undefined;
  let badEvent: { index: number; defect: string } | undefined;
  items.forEach((item: unknown, index: number) => {
    const e = toEvent(item);
    if (e) {
      events.push(e);
      return;
    }
    others++;
    const kind = isObject(item) ? str(item.kind) : undefined;
    if (kind === "Event") badEvent ??= { index, defect: eventDefect(item as Json) };
    else otherKind ??= kind;
  });
  return { events, others, otherKind, ...(badEvent ? { badEvent } : {}) };
}

/** The first line of a JSON.parse error, for a message. */
function jsonError(err: unknown): string {
  return err instanceof Error ? err.message.split("\n")[0] : String(err);
}

/**
 * Reads events from what the user gave: `kubectl get events -o json` (a List), a JSON array, one event object, or
 * newline-delimited JSON (kubernetes-event-exporter's stdout, whose own log lines are skipped). Throws an
 * {@link InputError} for text that is not JSON, and for JSON that holds something but no Event.
 */
export function readEvents(text: string): KubeEvent[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  let whole: unknown;
  let parsed = false;
  try {
    whole = JSON.parse(trimmed);
    parsed = true;
  } catch {
    // not one JSON document: one per line
  }
  if (parsed) {
    if (!Array.isArray(whole) && !isObject(whole)) throw new InputError(`is JSON but not a list of events (it is a ${whole === null ? "null" : typeof whole})`);
    if (isObject(whole) && "items" in whole && !Array.isArray(whole.items)) throw new InputError("is JSON with an 'items' field that is not a list");
    const { events, others, otherKind, badEvent } = eventsFrom(whole);
    if (events.length === 0 && badEvent) throw new InputError(`holds ${others} item(s) and no readable Event: item ${badEvent.index} says kind Event, but ${badEvent.defect}`);
    if (events.length === 0 && others > 0) throw new InputError(`holds ${others} item(s), none of them a Kubernetes Event${otherKind ? ` (they are ${otherKind} objects)` : ""}`);
    return events;
  }
  const events: KubeEvent[] = [];
  const lines = trimmed.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l) continue;
    let value: unknown;
    try {
      value = JSON.parse(l);
    } catch (err) {
      throw new InputError(`is not JSON: line ${i + 1} does not parse (${jsonError(err)})`);
    }
    for (const e of eventsFrom(value).events) events.push(e);
  }
  return events;
}

/** The items of a `kubectl get <kind> -o json` list, checking that they are objects of that kind. */
function listItems(text: string, kind: "Node" | "Pod"): Json[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InputError(`is not JSON (${jsonError(err)})`);
  }
  if (!isObject(parsed) || !Array.isArray(parsed.items)) throw new InputError(`is not a ${kind}List ('kubectl get ${kind.toLowerCase()}s -o json' prints one)`);
  if (typeof parsed.kind === "string" && parsed.kind !== `${kind}List` && parsed.kind !== "List") throw new InputError(`is ${/^[AEIOU]/.test(parsed.kind) ? "an" : "a"} ${parsed.kind}, not a ${kind}List`);
  const items = parsed.items.filter(isObject);
  const other = items.find((item) => typeof item.kind === "string" && item.kind !== kind);
  if (other) throw new InputError(`holds ${String(other.kind)} objects, not ${kind}s`);
  return items;
}

/** Node name → labels (string values only), from `kubectl get nodes -o json`. Throws an {@link InputError}. */
export function readNodeLabels(text: string): Map<string, Record<string, string>> {
  const map = new Map<string, Record<string, string>>();
  for (const item of listItems(text, "Node")) {
    const metadata = isObject(item.metadata) ? item.metadata : {};
    const name = str(metadata.name);
    if (!name) continue;
    const labels = isObject(metadata.labels) ? metadata.labels : {};
    map.set(name, Object.fromEntries(Object.entries(labels).filter((e): e is [string, string] => typeof e[1] === "string")));
  }
  return map;
}

/** `namespace/pod` → node, from `kubectl get pods -A -o json`, for events that name no host. Throws an {@link InputError}. */
export function readPodNodes(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const item of listItems(text, "Pod")) {
    const metadata = strings(item.metadata, ["name", "namespace"] as const) ?? {};
    const nodeName = str(isObject(item.spec) ? item.spec.nodeName : undefined);
    if (metadata.name && nodeName) map.set(`${metadata.namespace ?? "default"}/${metadata.name}`, nodeName);
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
