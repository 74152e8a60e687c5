/**
 * Prints the per-layer timeline of one CRI pull as JSON (or `null`): node dist/lab/report/timelineMain.js SOCI_LOG
 * T0_NS END_NS, with the pull request's and the pull's return's host times in nanoseconds since the epoch (the
 * bench's stamps). Called by lab/lib/bench-node.sh for every SOCI run.
 */
import { readFileSync } from "node:fs";
import { pullTimeline } from "./timeline";

const [log, t0, end] = process.argv.slice(2);
if (!log || !t0 || !end) {
  process.stderr.write("usage: timelineMain.js SOCI_LOG T0_NS END_NS\n");
  process.exit(2);
}
let text = "";
try {
  text = readFileSync(log, "utf8");
} catch {
  text = "";
}
/** Nanoseconds since the epoch (a decimal string) as milliseconds, keeping the fraction. */
const ms = (ns: string): number => Number(BigInt(ns) / 1_000_000n) + Number(BigInt(ns) % 1_000_000n) / 1e6;
process.stdout.write(`${JSON.stringify(pullTimeline(text, ms(t0), ms(end)))}\n`);
