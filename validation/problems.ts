/**
 * Configuration problems and the one error that reports all of them.
 * Validation collects every problem in one pass; callers throw once, before any resource exists.
 */
import { RunError } from "@pulumi/pulumi/errors";

/** One bad setting: where it is, what it holds, why that is wrong, and how to fix it. */
export interface ConfigProblem {
  /** The setting as the user spells it, e.g. `soci-eks:sociMode` or `soci-eks:nodeGroups[1].instanceType`. */
  setting: string;
  /** The offending value, as the user gave it (absent when the problem is a missing value). */
  value?: unknown;
  /** What is wrong, e.g. `is not one of lazy, parallel, off`. */
  reason: string;
  /** What to do about it, as a full sentence. */
  fix: string;
}

const ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** A control character as a visible escape (`\n`, `\u001b`). */
function escapeControl(c: string): string {
  return ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * Renders a value for a message: strings quoted (control characters such as the line breaks of a pasted PEM
 * escaped, so one problem stays one line), everything else as JSON.
 */
export function showValue(value: unknown): string {
  if (typeof value === "string") return `'${value.replace(/[\u0000-\u001f\u007f-\u009f]/g, escapeControl)}'`;
  if (value === undefined) return "(unset)";
  return JSON.stringify(value);
}

/**
 * `soci-eks:sociMode: 'fast' is not one of lazy, parallel, off. Set soci-eks:sociMode to ...`;
 * without a value: `soci-eks:nodeGroups[0].name is missing. Give ...`.
 */
export function formatProblem(problem: ConfigProblem): string {
  if (!("value" in problem)) return `${problem.setting} ${problem.reason}. ${problem.fix}`;
  return `${problem.setting}: ${showValue(problem.value)} ${problem.reason}. ${problem.fix}`;
}

/** Drops repeated problems (several node groups inheriting one bad top-level value). */
export function dedupeProblems(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = formatProblem(p);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Thrown when the configuration is invalid, before any resource is registered.
 * The message lists every problem, one per line. A `pulumi.RunError`, so the CLI prints the message
 * without a stack trace.
 */
export class SociConfigError extends RunError {
  /** The problems, in the order they were found. */
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[], subject = "soci-eks configuration") {
    const unique = dedupeProblems(problems);
    const count = unique.length === 1 ? "1 problem" : `${unique.length} problems`;
    super(`${subject} has ${count}; nothing was created:\n${unique.map((p) => `  - ${formatProblem(p)}`).join("\n")}`);
    this.name = "SociConfigError";
    this.problems = unique;
  }
}

/** Throws one {@link SociConfigError} listing all problems, if there are any. */
export function throwIfProblems(problems: ConfigProblem[], subject?: string): void {
  if (problems.length > 0) throw new SociConfigError(problems, subject);
}
