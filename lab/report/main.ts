/**
 * Writes the pull bench's results: node dist/lab/report/main.js --meta META.json --runs RUNS.jsonl --out PREFIX
 * gives PREFIX.json (meta, summary, targets, every run), PREFIX.md and PREFIX.svg. Called by lab/lib/bench-node.sh.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { BenchMeta, BenchRun, checkTargets, renderMarkdown, renderSvg, summarize } from "./benchReport";

function arg(name: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v) {
    process.stderr.write(`usage: main.js --meta META.json --runs RUNS.jsonl --out PREFIX (missing --${name})\n`);
    process.exit(2);
  }
  return v;
}

const meta = JSON.parse(readFileSync(arg("meta"), "utf8")) as BenchMeta;
const runs = readFileSync(arg("runs"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "")
  .map((l) => JSON.parse(l) as BenchRun);
const out = arg("out");
const summary = summarize(runs);
writeFileSync(`${out}.json`, `${JSON.stringify({ ...meta, summary, targets: checkTargets(summary), degraded_runs: runs.filter((r) => r.degraded).length, runs }, null, 1)}\n`);
writeFileSync(`${out}.md`, renderMarkdown(meta, summary, runs));
writeFileSync(`${out}.svg`, renderSvg(meta, summary));
