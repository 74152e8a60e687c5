/**
 * Recorded-access prefetch: the options, their validation, and the files the Job gets. SOCI 0.16.1 prefetches span
 * ranges per layer (index v2 prefetch artifacts); `soci-eks-prefetch apply` maps each file's byte ranges to exactly
 * the spans that hold them, so a container that reads the first 6% of a 30 MiB file prefetches two 2 MiB spans, not
 * the file. See docs/index-builder.md, "Recorded-access prefetch".
 */
import { ConfigProblem } from "../../validation/problems";

/** One byte range of a file, `[offset, offset + length)`. */
export interface PrefetchRange {
  /** First byte, from the start of the file. */
  offset: number;
  /** Number of bytes, at least 1. */
  length: number;
}

/** One file to prefetch: the whole file, or only the given byte ranges of it. */
export interface PrefetchFile {
  /** Absolute path in the image, e.g. `/usr/lib/python3.11/site-packages/torch/lib/libtorch_cpu.so`. */
  path: string;
  /** Byte ranges to prefetch. Unset: the whole file. */
  ranges?: PrefetchRange[];
}

/** Record what the image reads when it starts, by running it once on the builder's node. */
export interface PrefetchRecording {
  /**
   * How long to record, in seconds from the container's start (1–600). The container is stopped then, or when it
   * exits first. Pick the time your app needs to be ready: what it reads later is loaded lazily as usual.
   */
  seconds: number;
  /** Replaces the image's CMD for the recording run (the ENTRYPOINT stays). Default: the image's own. */
  args?: string[];
  /** Extra environment for the recording run, on top of the image's. */
  env?: Record<string, string>;
  /**
   * Keep a recording whose container exited with a non-zero code before `seconds`. Default false: such a run is a
   * start that failed (a crash, a missing setting, a network it cannot reach in the sandbox), its reads are not what
   * the image reads on a node, and the build fails with the image, the exit code and the fix. Set it for an image
   * whose start ends non-zero by design. Reaching `seconds` while running, or exiting 0, is always kept.
   */
  allowNonZeroExit?: boolean;
}

/**
 * SOCI prefetch for one image: the byte ranges it reads at start are fetched when its layers are mounted, all at
 * once, instead of one span at a time as the app reaches them. Takes effect on nodes with `[prefetch] enable = true`.
 * Give `record`, `files`, or both (merged).
 */
export interface SociPrefetchOptions {
  /** Record the reads of one sandboxed, network-less run of the image. */
  record?: PrefetchRecording;
  /** Files, or byte ranges of files, that you know the image reads at start. */
  files?: PrefetchFile[];
}

/** How an image's prefetch list is made. */
export type PrefetchMode = "none" | "record" | "files" | "record+files";

export function prefetchMode(p: SociPrefetchOptions | undefined): PrefetchMode {
  if (!p) return "none";
  const r = p.record !== undefined;
  const f = (p.files?.length ?? 0) > 0;
  return r && f ? "record+files" : r ? "record" : f ? "files" : "none";
}

const MAX_RECORD_SECONDS = 600;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Checks one image's prefetch options; problems are named under `at` (e.g. `images[2].prefetch`). */
export function validatePrefetch(p: SociPrefetchOptions | undefined, at: string): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  if (p === undefined) return problems;
  if (typeof p !== "object" || p === null || (p.record === undefined && p.files === undefined)) {
    return [{ setting: at, value: p, reason: "has neither record nor files", fix: "Give record: { seconds: 10 } or files: [{ path: '/app/main.py' }], or remove prefetch." }];
  }
  if (p.record !== undefined) {
    const s = p.record.seconds;
    if (typeof s !== "number" || !Number.isFinite(s) || s < 1 || s > MAX_RECORD_SECONDS) {
      problems.push({ setting: `${at}.record.seconds`, value: s, reason: `is not a number of seconds from 1 to ${MAX_RECORD_SECONDS}`, fix: "Set the time your app needs to be ready, e.g. 10." });
    }
    if (p.record.args !== undefined && (!Array.isArray(p.record.args) || p.record.args.some((a) => typeof a !== "string"))) {
      problems.push({ setting: `${at}.record.args`, value: p.record.args, reason: "is not a list of strings", fix: "Give the CMD arguments as strings, e.g. ['--serve']." });
    }
    if (p.record.allowNonZeroExit !== undefined && typeof p.record.allowNonZeroExit !== "boolean") {
      problems.push({
        setting: `${at}.record.allowNonZeroExit`,
        value: p.record.allowNonZeroExit,
        reason: "is not true or false",
        fix: "Set true to keep a recording whose container exits non-zero before `seconds`, or leave it unset.",
      });
    }
    for (const [k, v] of Object.entries(p.record.env ?? {})) {
      if (!ENV_NAME_RE.test(k) || typeof v !== "string") {
        problems.push({ setting: `${at}.record.env.${k}`, value: v, reason: "is not an environment variable (NAME: 'string')", fix: "Use letters, digits and '_' for the name and a string value." });
      }
    }
  }
  if (p.files !== undefined) {
    if (!Array.isArray(p.files) || p.files.length === 0) {
      problems.push({ setting: `${at}.files`, value: p.files, reason: "is empty", fix: "List at least one { path }, or remove files." });
    }
    (Array.isArray(p.files) ? p.files : []).forEach((f, i) => {
      const fat = `${at}.files[${i}]`;
      if (typeof f.path !== "string" || !f.path.startsWith("/") || f.path.includes("\0")) {
        problems.push({ setting: `${fat}.path`, value: f.path, reason: "is not an absolute path", fix: "Give the path as the container sees it, e.g. '/app/model/weights.bin'." });
      }
      (f.ranges ?? []).forEach((r, j) => {
        if (!Number.isSafeInteger(r.offset) || r.offset < 0 || !Number.isSafeInteger(r.length) || r.length < 1) {
          problems.push({ setting: `${fat}.ranges[${j}]`, value: r, reason: "is not { offset >= 0, length >= 1 } in whole bytes", fix: "Give byte offsets and lengths as integers." });
        }
      });
    });
  }
  return problems;
}

/** The reads file `soci-eks-prefetch apply` takes, for a user's list (whole files have no ranges). */
export function readsListJson(files: PrefetchFile[]): string {
  return JSON.stringify({
    version: 1,
    source: "list",
    files: files.map((f) => ({ path: f.path, ...(f.ranges && f.ranges.length > 0 ? { ranges: f.ranges.map((r) => [r.offset, r.length]) } : {}) })),
  });
}

/** `soci-eks-prefetch record` flags for a recording (after --layout/--out/--workdir, which the Job sets). */
export function recordArgs(r: PrefetchRecording): string[] {
  return [
    "--seconds",
    String(r.seconds),
    ...(r.args ?? []).flatMap((a) => ["--arg", a]),
    ...Object.entries(r.env ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([k, v]) => ["--env", `${k}=${v}`]),
    ...(r.allowNonZeroExit ? ["--allow-nonzero-exit"] : []),
  ];
}
