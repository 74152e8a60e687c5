/**
 * Flag parsing for the `soci-eks` commands, with every mistake turned into a {@link ConfigProblem} that names the
 * flag, the value and the fix, like every other soci-eks message; all problems are reported at once.
 *
 * Rules: `--flag VALUE` or `--flag=VALUE`; a value may start with `-` (a negative number, a pasted PEM) unless it is
 * itself one of the command's flags; an unknown flag gets the nearest known one as a suggestion; a flag that is not
 * repeatable may be given once; there are no positional arguments.
 */
import { closestName } from "../validation/closestName";
import { ClusterConnectionSettings } from "../validation/clusterConnection";
import { withoutUserinfo } from "../validation/mirrorTrust";
import { ConfigProblem, formatProblem } from "../validation/problems";
import { CONNECTION_SPELLINGS } from "../validation/settingNames";

/** The flag of each cluster field (the userdata command takes them; --karpenter refuses them). */
export const CLUSTER_FLAGS: Readonly<Record<keyof ClusterConnectionSettings, string>> = Object.fromEntries(
  Object.entries(CONNECTION_SPELLINGS).map(([key, spelling]) => [key, spelling.flag]),
) as Record<keyof ClusterConnectionSettings, string>;

/** One flag of a command. */
export interface FlagSpec {
  /** `string` takes a value; `boolean` is a switch. */
  type: "string" | "boolean";
  /** May be given more than once (the values are collected in order). */
  multiple?: boolean;
  /** A one-letter alias, e.g. `h` for `-h`. */
  short?: string;
  /** An example value for the "needs a value" fix, e.g. `parallel`. */
  example?: string;
  /** The value is a URL: messages show it without what stands between its scheme and its last '@'. */
  url?: boolean;
}

/** The options table of one command. */
export type FlagOptions = Readonly<Record<string, FlagSpec>>;

/** The parsed values: strings, switches (true when given), lists for repeatable flags; absent when not given. */
export type FlagValues<O extends FlagOptions> = {
  -readonly [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : O[K]["multiple"] extends true ? string[] : string;
};

/** A usage error: one or more problems, printed one per line; the command exits 2. */
export class UsageError extends Error {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "UsageError";
  }
}

/** Throws one {@link UsageError} listing every problem, if there are any. */
export function throwIfUsageProblems(problems: ConfigProblem[]): void {
  if (problems.length > 0) throw new UsageError(problems);
}

/** Whether the arguments ask for help (`--help` or `-h` before a `--`). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/** The flag an argument names (`--mode`, `--mode=x` → `mode`; `-h` → its long name), or undefined. */
function flagName(arg: string, options: FlagOptions): string | undefined {
  if (arg.startsWith("--")) {
    const name = arg.slice(2).split("=")[0];
    return name in options ? name : undefined;
  }
  if (/^-[A-Za-z]$/.test(arg)) return Object.keys(options).find((k) => options[k].short === arg.slice(1));
  return undefined;
}

/**
 * Parses a command's flags. Collects every problem (unknown flags with a did-you-mean, missing values, values given
 * to switches, repeated single-value flags, positional arguments) and throws one {@link UsageError} listing them.
 */
export function parseFlags<O extends FlagOptions>(command: string, argv: readonly string[], options: O): FlagValues<O> {
  const help = `Run soci-eks ${command} --help for the options.`;
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, (string | true)[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const name = flagName(arg, options);
    if (name === undefined) {
      const typed = arg.split("=")[0];
      const near = closestName(typed.replace(/^-+/, ""), Object.keys(options));
      problems.push({ setting: typed, reason: `is not an option of soci-eks ${command}`, fix: `${near ? `Did you mean --${near}? ` : ""}${help}` });
      // Its value, if it had one, is not a positional argument of its own.
      if (!arg.includes("=") && i + 1 < argv.length && !argv[i + 1].startsWith("--")) i++;
      continue;
    }
    const spec = options[name];
    const flag = `--${name}`;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    let value: string | true;
    if (spec.type === "boolean") {
      if (eq >= 0) {
        problems.push({ setting: flag, value: arg.slice(eq + 1), reason: "is a switch and takes no value", fix: `Write ${flag} alone (not ${arg}).` });
        continue;
      }
      value = true;
    } else if (eq >= 0) {
      value = arg.slice(eq + 1);
    } else if (i + 1 < argv.length && flagName(argv[i + 1], options) === undefined && argv[i + 1] !== "--") {
      value = argv[++i];
    } else {
      const next = argv[i + 1];
      problems.push({
        setting: flag,
        reason: next === undefined ? "needs a value" : `needs a value (the next argument, ${next}, is a flag)`,
        fix: `Write ${flag} VALUE${spec.example !== undefined ? `, e.g. ${flag} ${spec.example}` : ""}. ${help}`,
      });
      continue;
    }
    seen.set(name, [...(seen.get(name) ?? []), value]);
  }
  for (const p of positionals) {
    problems.push({ setting: `soci-eks ${command}`, value: p, reason: "takes no positional arguments", fix: `Give every value after its flag, e.g. --instance-type m7i.xlarge. ${help}` });
  }
  const values: Record<string, string | boolean | string[]> = {};
  for (const [name, given] of seen) {
    const spec = options[name];
    if (spec.multiple) {
      values[name] = given as string[];
    } else if (given.length > 1 && spec.type === "boolean") {
      // A switch has no value to show: say how often it was given.
      problems.push({ setting: `--${name}`, reason: `is given ${given.length === 2 ? "twice" : `${given.length} times`}; it is a switch`, fix: `Pass --${name} once.` });
    } else if (given.length > 1) {
      problems.push({
        setting: `--${name}`,
        value: spec.url ? (given as string[]).map(withoutUserinfo) : given,
        reason: "is given more than once; it takes one value",
        fix: `Pass --${name} once.`,
      });
    } else {
      values[name] = given[0];
    }
  }
  throwIfUsageProblems(problems);
  return values as FlagValues<O>;
}

/** A whole number ≥ `min` (and ≤ `max.value` when given, with where that bound comes from) from a flag's text, or a problem. */
export function wholeNumber(flag: string, text: string, min: number, example: string, problems: ConfigProblem[], max?: { value: number; why: string }): number | undefined {
  if (/^\d+$/.test(text) && Number(text) >= min && Number.isSafeInteger(Number(text))) {
    if (max === undefined || Number(text) <= max.value) return Number(text);
    problems.push({ setting: flag, value: text, reason: `is more than ${max.value}, ${max.why}`, fix: `Pass ${flag} N with N from ${min} to ${max.value}, as \`aws ec2 describe-instance-types\` reports it, e.g. ${flag} ${example}.` });
    return undefined;
  }
  problems.push({ setting: flag, value: text, reason: `is not a whole number ≥ ${min}`, fix: `Pass ${flag} N, e.g. ${flag} ${example}.` });
  return undefined;
}
