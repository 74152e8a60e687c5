/**
 * Instance facts for the CLI, which makes no AWS calls: from the built-in table of common types, or from the
 * facts flags for any other type. What it cannot know is refused, never guessed.
 */
import { Architecture, InstanceFacts } from "../userdata/types";
import { instanceFactsFromEc2, INSTANCE_TYPE_NAME } from "../validation/instanceTypes";
import { ConfigProblem } from "../validation/problems";
import { wholeNumber } from "./flags";
import { BUILT_IN_INSTANCE_TYPES, INSTANCE_TABLE_AS_OF } from "./instanceTable";

/** The facts flags as given (strings, unparsed). */
export interface FactsFlags {
  instanceType?: string;
  vcpus?: string;
  memoryMiB?: string;
  arch?: string;
  nvmeDisks?: string;
}

const ARCHITECTURES: readonly Architecture[] = ["x86_64", "arm64"];
const TABLE_NOTE = `the CLI's built-in table (EC2 DescribeInstanceTypes as of ${INSTANCE_TABLE_AS_OF})`;

/** The built-in facts of a type, or undefined when the table does not have it. */
export function builtInFacts(instanceType: string): InstanceFacts | undefined {
  const entry = BUILT_IN_INSTANCE_TYPES[instanceType];
  return entry ? instanceFactsFromEc2(entry) : undefined;
}

/**
 * The most NVMe instance-store disks of any EC2 type: d3en.12xlarge's 24 (Amazon EC2 Instance Types guide, storage
 * optimized specifications: 24 x 13,980 GB HDD, NVMe; `aws ec2 describe-instance-types --instance-types d3en.12xlarge`
 * reports InstanceStorageInfo.Disks[0].Count 24; recalled, not checked here: this machine has no internet). A larger count
 * is a typo.
 */
export const MAX_NVME_DISKS = { value: 24, why: "the most NVMe instance-store disks of any EC2 type (d3en.12xlarge)" } as const;

/** Parses the flag values that are present; pushes a problem for each malformed one. */
function parseFlagValues(f: FactsFlags, problems: ConfigProblem[]) {
  const vcpus = f.vcpus !== undefined ? wholeNumber("--vcpus", f.vcpus, 1, "4", problems) : undefined;
  const memoryMiB = f.memoryMiB !== undefined ? wholeNumber("--memory-mib", f.memoryMiB, 1, "16384", problems) : undefined;
  const nvmeDisks = f.nvmeDisks !== undefined ? wholeNumber("--nvme-disks", f.nvmeDisks, 0, "1", problems, MAX_NVME_DISKS) : undefined;
  let arch: Architecture | undefined;
  if (f.arch !== undefined) {
    if ((ARCHITECTURES as readonly string[]).includes(f.arch)) arch = f.arch as Architecture;
    else problems.push({ setting: "--arch", value: f.arch, reason: `is not one of ${ARCHITECTURES.join(", ")}`, fix: "Pass --arch x86_64 or --arch arm64 (EC2's names; amd64 is x86_64)." });
  }
  return { vcpus, memoryMiB, nvmeDisks, arch };
}

/** Problems for facts flags that contradict the table's facts of a known type. */
function contradictions(t: string, known: InstanceFacts, given: ReturnType<typeof parseFlagValues>): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const nvme = known.instanceStorage && known.instanceStorage.nvmeSupport !== "unsupported" ? known.instanceStorage.diskCount : 0;
  const checks: [string, number | string | undefined, boolean, string][] = [
    ["--vcpus", given.vcpus, given.vcpus === known.vcpus, `${known.vcpus} vCPU`],
    ["--memory-mib", given.memoryMiB, given.memoryMiB === known.memoryMiB, `${known.memoryMiB} MiB`],
    ["--arch", given.arch, given.arch !== undefined && known.architectures.includes(given.arch), known.architectures.join(" and ") || "no EKS architecture"],
    ["--nvme-disks", given.nvmeDisks, given.nvmeDisks === nvme, `${nvme} NVMe instance-store disk(s)`],
  ];
  for (const [flag, value, agrees, fact] of checks) {
    if (value === undefined || agrees) continue;
    problems.push({
      setting: flag,
      value: String(value),
      reason: `contradicts ${t}, which has ${fact} per ${TABLE_NOTE}`,
      fix: `Drop ${flag} (the CLI knows ${t}), or correct --instance-type.`,
    });
  }
  return problems;
}

/**
 * The instance facts the user data is sized for. A type in the built-in table needs no facts flags (given ones
 * must agree); any other type needs --vcpus, --memory-mib and --arch, and --nvme-disks for its instance store.
 * Pushes problems and returns undefined when the facts cannot be known.
 */
export function resolveInstanceFacts(f: FactsFlags, problems: ConfigProblem[]): InstanceFacts | undefined {
  const given = parseFlagValues(f, problems);
  const t = f.instanceType;
  if (t === undefined) {
    problems.push({
      setting: "--instance-type",
      reason: "is missing",
      fix: `Pass --instance-type, e.g. --instance-type m7i.xlarge (${Object.keys(BUILT_IN_INSTANCE_TYPES).length} common types are built in; for others add --vcpus, --memory-mib and --arch).`,
    });
    return undefined;
  }
  if (!INSTANCE_TYPE_NAME.test(t)) {
    problems.push({ setting: "--instance-type", value: t, reason: "is not an EC2 instance type name (family.size)", fix: "Pass an instance type such as m7i.xlarge or m7g.2xlarge." });
    return undefined;
  }
  const known = builtInFacts(t);
  if (known) {
    const bad = contradictions(t, known, given);
    problems.push(...bad);
    return bad.length === 0 ? known : undefined;
  }
  const missing = (["--vcpus", "--memory-mib", "--arch"] as const).filter((_flag, i) => [f.vcpus, f.memoryMiB, f.arch][i] === undefined);
  if (missing.length > 0) {
    problems.push({
      setting: "--instance-type",
      value: t,
      reason: `is not in ${TABLE_NOTE}, so the CLI does not know its vCPUs, memory or architecture`,
      fix: `Pass ${missing.join(", ")} as \`aws ec2 describe-instance-types --instance-types ${t}\` reports them (and --nvme-disks N for NVMe instance storage), or use a built-in type.`,
    });
    return undefined;
  }
  if (given.vcpus === undefined || given.memoryMiB === undefined || given.arch === undefined) return undefined; // malformed: already a problem
  const disks = given.nvmeDisks ?? 0;
  return {
    instanceType: t,
    vcpus: given.vcpus,
    memoryMiB: given.memoryMiB,
    architectures: [given.arch],
    gpus: 0,
    ...(disks > 0 ? { instanceStorage: { diskCount: disks, totalSizeGiB: 0, nvmeSupport: "required" as const } } : {}),
  };
}
