/**
 * Flag parsing for the `soci-eks` commands: Node's `util.parseArgs` in strict mode, with its errors turned
 * into {@link ConfigProblem}s that name the flag, the value and the fix, like every other soci-eks message.
 */
import { parseArgs, ParseArgsConfig } from "util";
import { ClusterConnectionSettings } from "../validation/clusterConnection";
import { ConfigProblem, formatProblem } from "../validation/problems";

/** The flag of each cluster field (the userdata command takes them; --karpenter refuses them). */
export const CLUSTER_FLAGS: Readonly<Record<keyof ClusterConnectionSettings, string>> = {
  name: "--cluster-name",
  apiServerEndpoint: "--api-server-endpoint",
  certificateAuthority: "--certificate-authority",
  serviceCidr: "--service-cidr",
};

/** The options table of one command, as `util.parseArgs` takes it. */
export type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

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

/** Maps a `util.parseArgs` error to a problem naming the flag (or argument) and the fix. */
function parseErrorProblem(command: string, error: Error & { code?: string }): ConfigProblem {
  const help = `Run soci-eks ${command} --help for the options.`;
  const quoted = /'([^']*)'/.exec(error.message)?.[1] ?? "";
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return { setting: quoted, reason: `is not an option of soci-eks ${command}`, fix: help };
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return { setting: `soci-eks ${command}`, value: quoted, reason: "takes no positional arguments", fix: `Give every value after its flag, e.g. --instance-type m7i.xlarge. ${help}` };
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE": {
      const flag = quoted.split(" ")[0];
      return /does not take an argument/.test(error.message)
        ? { setting: flag, reason: "is a switch and takes no value", fix: `Write ${flag} alone (not ${flag}=value).` }
        : { setting: flag, reason: "needs a value", fix: `Write ${flag} VALUE. ${help}` };
    }
    default:
      return { setting: `soci-eks ${command}`, reason: `could not read its arguments (${error.message})`, fix: help };
  }
}

/** Parses a command's flags strictly (no positionals); throws a {@link UsageError} on unknown or malformed flags. */
export function parseFlags<O extends FlagOptions>(command: string, argv: string[], options: O): ReturnType<typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>>["values"] {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError([parseErrorProblem(command, e as Error & { code?: string })]);
  }
}

/** A whole number ≥ `min` from a flag's text, or a problem. */
export function wholeNumber(flag: string, text: string, min: number, example: string, problems: ConfigProblem[]): number | undefined {
  if (/^\d+$/.test(text) && Number(text) >= min && Number.isSafeInteger(Number(text))) return Number(text);
  problems.push({ setting: flag, value: text, reason: `is not a whole number ≥ ${min}`, fix: `Pass ${flag} N, e.g. ${flag} ${example}.` });
  return undefined;
}
