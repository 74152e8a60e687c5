/**
 * The bench's recording checks (lab/lib/bench-workloads.sh):
 *   node dist/lab/report/recordingMain.js definition --cmd CSV --layers N --layer-bytes B --files F
 *     prints the reads file of what the entrypoint reads by the workload's definition (CSV: the image's entrypoint
 *     argv, comma-separated, as mkimage takes it).
 *   node dist/lab/report/recordingMain.js compare --workload WL --definition FILE --recorded FILE [--apply FILE]
 *     prints the recording set against the definition and `soci-eks-prefetch apply`'s summary (lab/report/recording.ts);
 *     its "ok" says whether the recording covers every byte the entrypoint reads.
 * Exit 2 on bad arguments or unreadable files.
 */
import { readFileSync } from "node:fs";
import { ApplySummary, ReadsFile, compareRecording, entrypointReads } from "./recording";

function opt(name: string, required = true): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : undefined;
  if (!v && required) throw new Error(`missing --${name}`);
  return v;
}

const json = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;

function int(name: string): number {
  const v = Number(opt(name));
  if (!Number.isInteger(v) || v <= 0) throw new Error(`--${name} ${opt(name)}: want a positive integer`);
  return v;
}

try {
  const cmd = process.argv[2];
  let out: unknown;
  if (cmd === "definition") {
    out = entrypointReads({ argv: opt("cmd")!.split(","), layers: int("layers"), layerBytes: int("layer-bytes"), filesPerLayer: int("files") });
  } else if (cmd === "compare") {
    const apply = opt("apply", false);
    out = compareRecording(opt("workload")!, json<ReadsFile>(opt("definition")!), json<ReadsFile>(opt("recorded")!), apply ? json<ApplySummary>(apply) : null);
  } else {
    throw new Error(`unknown command '${cmd ?? ""}' (want definition or compare)`);
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
} catch (e) {
  process.stderr.write(`recordingMain: ${(e as Error).message}\n`);
  process.exit(2);
}
