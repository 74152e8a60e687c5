#!/usr/bin/env node
/**
 * The `soci-eks` command: dispatches to `userdata` (launch-template user data or a Karpenter EC2NodeClass)
 * and `pull-report` (image pull times from kubelet events). Exit codes: 0 done, 1 failed, 2 usage error.
 */
import { readFileSync } from "fs";
import * as path from "path";
import { closestName } from "../validation/closestName";
import { ConfigProblem, formatProblem } from "../validation/problems";
import { UsageError, wantsHelp } from "./flags";
import { defaultIo, runPullReport, USAGE as PULL_REPORT_USAGE } from "./pullreport/main";
import { runUserdata, USERDATA_USAGE } from "./userdata";

export const USAGE = `Usage: soci-eks <command> [options]

Commands:
  userdata      print launch-template user data for a SOCI node, or a Karpenter EC2NodeClass (--karpenter)
  pull-report   print image pull times per node group, SOCI mode and image from kubelet "Pulled" events
  help [command]  this text, or a command's options (same as soci-eks <command> --help)

Options:
  --help, -h    this text
  --version     print the soci-eks version
`;

/** The version in the package's package.json (two levels above dist/cli/main.js, and above cli/main.ts). */
export function packageVersion(): string {
  for (const candidate of [path.join(__dirname, "..", "..", "package.json"), path.join(__dirname, "..", "package.json")]) {
    try {
      const pkg = JSON.parse(readFileSync(candidate, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "soci-eks" && pkg.version) return pkg.version;
    } catch {
      // try the next location
    }
  }
  return "unknown";
}

/** Output streams of a run. */
export interface MainIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

const COMMAND_USAGE: Record<string, string> = { userdata: USERDATA_USAGE, "pull-report": PULL_REPORT_USAGE };

/** `Did you mean X? ` when `name` looks like a typo of a command. */
function didYouMean(name: string): string {
  const near = closestName(name, Object.keys(COMMAND_USAGE));
  return near ? `Did you mean ${near}? ` : "";
}

function usageProblems(command: string, problems: ConfigProblem[], io: MainIo): number {
  const lines = problems.map((p) => `  - ${formatProblem(p)}`).join("\n");
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  const help = COMMAND_USAGE[command] ? `soci-eks ${command} --help lists the options` : "soci-eks --help lists the commands";
  io.err(`soci-eks ${command}: ${count}; nothing was printed:\n${lines}\n(${help})\n`);
  return 2;
}

/** Runs the CLI; returns the exit code. */
export function main(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const io: MainIo = { out, err };
  const [command, ...rest] = argv;
  if (command === undefined) {
    err(USAGE);
    return 2;
  }
  if (command === "--help" || command === "-h") {
    out(USAGE);
    return 0;
  }
  if (command === "--version") {
    out(`${packageVersion()}\n`);
    return 0;
  }
  if (command === "help") {
    const topic = rest[0];
    if (topic === undefined) {
      out(USAGE);
      return 0;
    }
    if (COMMAND_USAGE[topic]) {
      out(COMMAND_USAGE[topic]);
      return 0;
    }
    return usageProblems("help", [{ setting: "soci-eks help", value: topic, reason: "is not a command", fix: `${didYouMean(topic)}Use one of ${Object.keys(COMMAND_USAGE).join(", ")}.` }], io);
  }
  if (command.startsWith("-")) {
    // A top-level option that is not --help, -h or --version: suggest the nearest of them.
    const near = closestName(command.replace(/^-+/, "").split("=")[0], ["help", "version"]);
    return usageProblems(command, [{ setting: "soci-eks", value: command, reason: "is not an option of soci-eks (it takes --help, -h and --version before a command)", fix: `${near ? `Did you mean --${near}? ` : ""}Use one of ${Object.keys(COMMAND_USAGE).join(", ")}, or soci-eks --help.` }], io);
  }
  if (!COMMAND_USAGE[command]) {
    return usageProblems(command, [{ setting: "soci-eks", value: command, reason: "is not a command", fix: `${didYouMean(command)}Use one of ${Object.keys(COMMAND_USAGE).join(", ")}, or soci-eks --help.` }], io);
  }
  if (wantsHelp(rest)) {
    out(COMMAND_USAGE[command]);
    return 0;
  }
  if (command === "pull-report") return runPullReport(rest, { ...defaultIo, out, err });
  try {
    runUserdata(rest, out, err);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) return usageProblems("userdata", e.problems, io);
    err(`soci-eks userdata: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
}
