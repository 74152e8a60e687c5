#!/usr/bin/env node
import { execFileSync } from "child_process";
import { readFileSync } from "fs";
import { ConfigProblem, formatProblem } from "../../validation/problems";
import { FlagOptions, FlagValues, parseFlags, UsageError } from "../flags";
import { InputError, KubeEvent, readEvents, readNodeLabels, readPodNodes } from "./events";
import { buildReport, formatReport, MarkerError, NodeMarker, parseMarker, Report, reportJson } from "./report";

export const USAGE = `Usage: soci-eks pull-report [options]
       npm run pull-report -- [options]        (from a checkout of soci-eks)

Prints kubelet image pull times per node group, SOCI mode and image, from "Pulled" events, and the nodes that
joined without SOCI (label soci-eks/degraded, from --nodes; a node's own marker file with --marker).
NOT LAZY? counts lazy pulls whose duration looks like a full download (events carry no layer data; see docs/troubleshooting.md).

Input (one of):
  kubectl get events -A -o json | soci-eks pull-report --nodes nodes.json
  soci-eks pull-report --file events.json --nodes nodes.json
  soci-eks pull-report --kubectl [--context NAME]     runs kubectl get events/nodes/pods itself

Options:
  --file, -f FILE   events: 'kubectl get events -A -o json' output, or one event per line (kubernetes-event-exporter)
  --nodes FILE      'kubectl get nodes -o json': node -> eks.amazonaws.com/nodegroup and soci-eks/mode labels
  --pods FILE       'kubectl get pods -A -o json': pod -> node, for events without source.host/reportingInstance
  --kubectl         read events, nodes and pods with kubectl (KUBECONFIG and --context apply)
  --context NAME    kubectl context (with --kubectl)
  --marker FILE     a node's /run/soci-eks/degraded or /run/soci-eks/failed (repeatable): shown with the report
  --image TEXT      only images whose reference contains TEXT
  --all             also count repeat pulls of an image on the same node (warm); default: first pull per node only
  --json            print JSON instead of the table
  --help, -h        this text

Events expire (kube-apiserver --event-ttl, 1h by default): run the report soon after the pulls.
`;

export interface CliIo {
  stdin: () => string;
  /** Whether stdin is a terminal (nothing piped in): then the report does not wait for input that will not come. */
  stdinIsTerminal: () => boolean;
  readFile: (path: string) => string;
  kubectl: (args: string[]) => string;
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The process's stdin, files, kubectl, stdout and stderr. */
export const defaultIo: CliIo = {
  stdin: () => readFileSync(0, "utf8"),
  stdinIsTerminal: () => process.stdin.isTTY === true,
  readFile: (p) => readFileSync(p, "utf8"),
  kubectl: (args) => execFileSync("kubectl", args, { encoding: "utf8", maxBuffer: 512 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] }),
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** The flags of `soci-eks pull-report`. */
export const PULL_REPORT_FLAGS = {
  file: { type: "string", short: "f", example: "events.json" },
  nodes: { type: "string", example: "nodes.json" },
  pods: { type: "string", example: "pods.json" },
  kubectl: { type: "boolean" },
  context: { type: "string", example: "prod" },
  image: { type: "string", example: "my-image" },
  marker: { type: "string", multiple: true, example: "degraded" },
  all: { type: "boolean" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies FlagOptions;

/** Where one input comes from, named as the user gave it, with what it should hold. */
interface Source {
  setting: string;
  value?: string;
  fix: string;
}

const EVENTS_FIX = "Pass what `kubectl get events -A -o json` prints (or kubernetes-event-exporter's one event per line).";
const NODES_FIX = "Pass what `kubectl get nodes -o json` prints.";
const PODS_FIX = "Pass what `kubectl get pods -A -o json` prints.";
const MARKER_FIX = "Pass a copy of a node's /run/soci-eks/degraded or /run/soci-eks/failed.";

/** Why a file cannot be read, from Node's error code. */
function readError(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case "ENOENT":
      return "does not exist";
    case "EISDIR":
      return "is a directory, not a file";
    case "EACCES":
    case "EPERM":
      return "cannot be read (permission denied)";
    default:
      return `cannot be read (${err instanceof Error ? err.message.split("\n")[0] : String(err)})`;
  }
}

/** A problem report on stderr in the shape every soci-eks command uses; returns exit code 2. */
function refuse(io: CliIo, problems: ConfigProblem[]): number {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  io.err(`soci-eks pull-report: ${count}; nothing was printed:\n${problems.map((p) => `  - ${formatProblem(p)}`).join("\n")}\n(soci-eks pull-report --help lists the options)\n`);
  return 2;
}

/** kubectl's own complaint, first lines only. */
function kubectlError(err: unknown): string {
  const e = err as { code?: string; stderr?: string; message?: string };
  if (e.code === "ENOENT") return "kubectl was not found on PATH";
  const text = (e.stderr && e.stderr.trim()) || e.message || String(err);
  return text.split("\n").slice(0, 3).join(" ").trim();
}

/** Runs the CLI; returns the exit code (0 done, 1 kubectl or an unexpected failure, 2 bad input). */
export function runPullReport(argv: string[], io: CliIo = defaultIo): number {
  let values: FlagValues<typeof PULL_REPORT_FLAGS>;
  try {
    values = parseFlags("pull-report", argv, PULL_REPORT_FLAGS);
  } catch (err) {
    if (err instanceof UsageError) return refuse(io, err.problems);
    throw err;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  const problems: ConfigProblem[] = [];
  if (values.kubectl && values.file !== undefined) {
    problems.push({ setting: "--file", value: values.file, reason: "and --kubectl both give the events", fix: "Use --file (or stdin), or --kubectl, not both." });
  }
  if (values.context !== undefined && !values.kubectl) {
    problems.push({ setting: "--context", value: values.context, reason: "only applies with --kubectl", fix: "Add --kubectl, or drop --context." });
  }
  if (!values.kubectl && values.file === undefined && io.stdinIsTerminal()) {
    problems.push({
      setting: "stdin",
      reason: "is a terminal, so there are no events to read",
      fix: "Pipe them in (kubectl get events -A -o json | soci-eks pull-report), or pass --file events.json or --kubectl.",
    });
  }
  if (problems.length > 0) return refuse(io, problems);

  /** Reads one file; a problem (and undefined) when it cannot be read. */
  const read = (source: Source): string | undefined => {
    try {
      return io.readFile(source.value!);
    } catch (err) {
      problems.push({ ...source, reason: readError(err) });
      return undefined;
    }
  };
  /** Parses one input; a problem (and undefined) when it is not what the flag expects. */
  const parse = <T>(text: string | undefined, source: Source, parser: (text: string) => T): T | undefined => {
    if (text === undefined) return undefined;
    try {
      return parser(text);
    } catch (err) {
      if (!(err instanceof InputError) && !(err instanceof MarkerError)) throw err;
      problems.push({ ...source, reason: err.message });
      return undefined;
    }
  };

  const ctx = values.context !== undefined ? ["--context", values.context] : [];
  const fromKubectl = (what: string, args: string[]): string | undefined => {
    try {
      return io.kubectl([...ctx, ...args]);
    } catch (err) {
      io.err(`soci-eks pull-report: \`kubectl ${[...ctx, ...args].join(" ")}\` failed: ${kubectlError(err)}. Check that kubectl reaches the cluster (kubectl get ${what}), or pass the ${what} with --file/--nodes/--pods.\n`);
      return undefined;
    }
  };

  let events: KubeEvent[] | undefined;
  let nodes: Map<string, Record<string, string>> | undefined;
  let pods: Map<string, string> | undefined;
  if (values.kubectl) {
    const eventsText = fromKubectl("events", ["get", "events", "-A", "-o", "json"]);
    const nodesText = fromKubectl("nodes", ["get", "nodes", "-o", "json"]);
    const podsText = fromKubectl("pods", ["get", "pods", "-A", "-o", "json"]);
    if (eventsText === undefined || nodesText === undefined || podsText === undefined) return 1;
    events = parse(eventsText, { setting: "--kubectl", value: "kubectl get events -A -o json", fix: "Check the kubectl context (--context)." }, readEvents);
    nodes = parse(nodesText, { setting: "--kubectl", value: "kubectl get nodes -o json", fix: "Check the kubectl context (--context)." }, readNodeLabels);
    pods = parse(podsText, { setting: "--kubectl", value: "kubectl get pods -A -o json", fix: "Check the kubectl context (--context)." }, readPodNodes);
  } else if (values.file !== undefined) {
    const source = { setting: "--file", value: values.file, fix: EVENTS_FIX };
    const text = read(source);
    if (text !== undefined && text.trim() === "") problems.push({ ...source, reason: "is empty" });
    else events = parse(text, source, readEvents);
  } else {
    const text = io.stdin();
    if (text.trim() === "") {
      // Nothing was piped in (kubectl failed before printing, or a command printed nothing): not "no events".
      problems.push({
        setting: "stdin",
        reason: "was empty",
        fix: "Pipe in what `kubectl get events -A -o json` prints (kubectl get events -A -o json | soci-eks pull-report), or pass --file events.json or --kubectl.",
      });
    } else {
      events = parse(text, { setting: "stdin", fix: EVENTS_FIX }, readEvents);
    }
  }
  if (values.nodes !== undefined) {
    const source = { setting: "--nodes", value: values.nodes, fix: NODES_FIX };
    nodes = parse(read(source), source, readNodeLabels);
  }
  if (values.pods !== undefined) {
    const source = { setting: "--pods", value: values.pods, fix: PODS_FIX };
    pods = parse(read(source), source, readPodNodes);
  }
  const markers = (values.marker ?? []).map((file) => {
    const source = { setting: "--marker", value: file, fix: MARKER_FIX };
    return parse(read(source), source, (text) => parseMarker(text, file));
  });
  if (problems.length > 0 || events === undefined) return refuse(io, problems);

  const report: Report = buildReport(events, {
    nodeLabels: nodes,
    podNodes: pods,
    includeWarm: values.all === true,
    imageFilter: values.image,
    markers: markers.filter((m): m is NodeMarker => m !== undefined),
  });
  if (!nodes) io.err("note: no --nodes given, so node group and mode show as '-'\n");
  io.out(values.json ? `${reportJson(report)}\n` : formatReport(report));
  return 0;
}

if (require.main === module) {
  try {
    process.exitCode = runPullReport(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`soci-eks pull-report: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
