#!/usr/bin/env node
import { execFileSync } from "child_process";
import { readFileSync } from "fs";
import { parseArgs } from "util";
import { readEvents, readNodeLabels, readPodNodes } from "./events";
import { buildReport, formatReport, parseMarker, Report } from "./report";

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
  --marker FILE     a node's /var/lib/soci-eks/degraded or /var/lib/soci-eks/failed (repeatable): shown with the report
  --image TEXT      only images whose reference contains TEXT
  --all             also count repeat pulls of an image on the same node (warm); default: first pull per node only
  --json            print JSON instead of the table
  --help, -h        this text

Events expire (kube-apiserver --event-ttl, 1h by default): run the report soon after the pulls.
`;

export interface CliIo {
  stdin: () => string;
  readFile: (path: string) => string;
  kubectl: (args: string[]) => string;
  out: (text: string) => void;
  err: (text: string) => void;
}

/** The process's stdin, files, kubectl, stdout and stderr. */
export const defaultIo: CliIo = {
  stdin: () => readFileSync(0, "utf8"),
  readFile: (p) => readFileSync(p, "utf8"),
  kubectl: (args) => execFileSync("kubectl", args, { encoding: "utf8", maxBuffer: 512 * 1024 * 1024, stdio: ["ignore", "pipe", "pipe"] }),
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

/** Runs the CLI; returns the exit code. */
export function runPullReport(argv: string[], io: CliIo = defaultIo): number {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        file: { type: "string", short: "f" },
        nodes: { type: "string" },
        pods: { type: "string" },
        kubectl: { type: "boolean" },
        context: { type: "string" },
        image: { type: "string" },
        marker: { type: "string", multiple: true },
        all: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    io.err(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(USAGE);
    return 0;
  }
  if (values.kubectl && values.file) {
    io.err("--kubectl and --file are exclusive\n");
    return 2;
  }
  try {
    const ctx = typeof values.context === "string" ? ["--context", values.context] : [];
    let eventsText: string;
    let nodesText: string | undefined;
    let podsText: string | undefined;
    if (values.kubectl) {
      eventsText = io.kubectl([...ctx, "get", "events", "-A", "-o", "json"]);
      nodesText = io.kubectl([...ctx, "get", "nodes", "-o", "json"]);
      podsText = io.kubectl([...ctx, "get", "pods", "-A", "-o", "json"]);
    } else {
      eventsText = typeof values.file === "string" ? io.readFile(values.file) : io.stdin();
    }
    if (typeof values.nodes === "string") nodesText = io.readFile(values.nodes);
    if (typeof values.pods === "string") podsText = io.readFile(values.pods);

    const report: Report = buildReport(readEvents(eventsText), {
      nodeLabels: nodesText ? readNodeLabels(nodesText) : undefined,
      podNodes: podsText ? readPodNodes(podsText) : undefined,
      includeWarm: values.all === true,
      imageFilter: typeof values.image === "string" ? values.image : undefined,
      markers: (Array.isArray(values.marker) ? values.marker : []).map((f) => parseMarker(io.readFile(f), f)),
    });
    if (!nodesText) io.err("note: no --nodes given, so node group and mode show as '-'\n");
    io.out(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return 0;
  } catch (err) {
    io.err(`pull-report: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = runPullReport(process.argv.slice(2));
}
