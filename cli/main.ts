#!/usr/bin/env node
/**
 * `soci-eks userdata ...`: prints the user data the components would put in a launch template,
 * for Karpenter and Terraform users. No network calls: instance facts come from the flags
 * (the Pulumi components look them up from EC2 instead).
 */
import { parseArgs } from "util";
import { stringify as yamlStringify } from "yaml";
import {
  Architecture,
  ClusterConnection,
  DEFAULT_MIRROR_BASE_URL,
  DEFAULT_SOCI_VERSION,
  NodeBootstrapOptions,
  NodeTaint,
  OsFamily,
  renderUserData,
  SociFailurePolicy,
  SociMode,
  supportedOsFamilies,
} from "../userdata";
import { parseVersion } from "../userdata/releases";
import { checkOnSociFailure } from "../validation/nodeGroup";
import { formatProblem } from "../validation/problems";

const USAGE = `Usage:
  soci-eks userdata --instance-type T --vcpus N --memory-mib N --arch x86_64|arm64 [options]
  soci-eks help

Prints launch-template user data for a SOCI node (AL2023: MIME multipart; Bottlerocket: TOML).

Options:
  --os al2023|bottlerocket          OS family (default al2023)
  --mode lazy|parallel|off          SOCI mode (default lazy; Bottlerocket: parallel or off)
  --ssd                             RAID0 over the NVMe instance-store disks
  --keep-soci-on-root-volume        with --ssd, keep SOCI's data on EBS
  --on-soci-failure fallback|fail   when a SOCI boot step fails: join without SOCI (default) or never join
  --soci-version X.Y.Z              soci-snapshotter release (default ${DEFAULT_SOCI_VERSION})
  --soci-sha256 HEX                 pin the release tarball's sha256
  --mirror URL                      release mirror base URL (default ${DEFAULT_MIRROR_BASE_URL})
  --cluster-name N --api-server-endpoint URL --certificate-authority B64 --service-cidr CIDR
                                    cluster fields (all four or none; EKS managed node groups add them)
  --label key=value                 node label (repeatable)
  --taint key=value:Effect          node taint (repeatable)
  --karpenter                       print a Karpenter EC2NodeClass that carries the user data
  --node-class-name N  --role R  --discovery-tag V   (with --karpenter)
`;

/** A usage error: printed with the usage hint, exit code 2. */
export class UsageError extends Error {}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`--${flag} '${value}' is not one of ${allowed.join(", ")}. Pass --${flag} ${allowed.join("|")}.`);
  }
  return value as T;
}

function positiveInt(flag: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`--${flag} is required: the CLI does not look up instance types. Pass --${flag} N.`);
  if (!/^[1-9]\d*$/.test(value)) throw new UsageError(`--${flag} '${value}' is not a positive integer.`);
  return Number(value);
}

function parseLabel(text: string): [string, string] {
  const m = /^([^=\s]+)=([^=\s]*)$/.exec(text);
  if (!m) throw new UsageError(`--label '${text}' is not key=value. Pass --label key=value, e.g. --label team=ml.`);
  return [m[1], m[2]];
}

function parseTaint(text: string): NodeTaint {
  const m = /^([^=:\s]+)(?:=([^:\s]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(text);
  if (!m) throw new UsageError(`--taint '${text}' is not key[=value]:Effect with Effect NoSchedule, PreferNoSchedule or NoExecute.`);
  return { key: m[1], ...(m[2] !== undefined ? { value: m[2] } : {}), effect: m[3] as NodeTaint["effect"] };
}

/** Parses the `userdata` arguments into renderer options (throws UsageError). */
export function parseUserdataArgs(argv: string[]): { os: OsFamily; options: NodeBootstrapOptions; karpenter?: Record<string, string> } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      os: { type: "string", default: "al2023" },
      mode: { type: "string", default: "lazy" },
      "instance-type": { type: "string" },
      vcpus: { type: "string" },
      "memory-mib": { type: "string" },
      arch: { type: "string" },
      ssd: { type: "boolean", default: false },
      "keep-soci-on-root-volume": { type: "boolean", default: false },
      "on-soci-failure": { type: "string" },
      "soci-version": { type: "string", default: DEFAULT_SOCI_VERSION },
      "soci-sha256": { type: "string" },
      mirror: { type: "string", default: DEFAULT_MIRROR_BASE_URL },
      "cluster-name": { type: "string" },
      "api-server-endpoint": { type: "string" },
      "certificate-authority": { type: "string" },
      "service-cidr": { type: "string" },
      label: { type: "string", multiple: true, default: [] },
      taint: { type: "string", multiple: true, default: [] },
      karpenter: { type: "boolean", default: false },
      "node-class-name": { type: "string" },
      role: { type: "string", default: "KarpenterNodeRole" },
      "discovery-tag": { type: "string" },
    },
  });
  const os = oneOf("os", values.os!, supportedOsFamilies());
  const mode = oneOf<SociMode>("mode", values.mode!, ["lazy", "parallel", "off"]);
  const instanceType = values["instance-type"];
  if (!instanceType) throw new UsageError("--instance-type is required, e.g. --instance-type m7i.xlarge.");
  const vcpus = positiveInt("vcpus", values.vcpus);
  const memoryMiB = positiveInt("memory-mib", values["memory-mib"]);
  if (values.arch === undefined) throw new UsageError("--arch is required. Pass --arch x86_64 or --arch arm64.");
  const architecture = oneOf<Architecture>("arch", values.arch, ["x86_64", "arm64"]);
  const version = values["soci-version"]!;
  if (!parseVersion(version)) throw new UsageError(`--soci-version '${version}' is not X.Y.Z (no leading v), e.g. ${DEFAULT_SOCI_VERSION}.`);
  const sha256 = values["soci-sha256"];
  if (sha256 !== undefined && !/^[0-9a-f]{64}$/.test(sha256)) throw new UsageError(`--soci-sha256 '${sha256}' is not 64 lowercase hex digits.`);
  const mirror = values.mirror!;
  if (!/^https?:\/\/[A-Za-z0-9._:/@+=,-]+$/.test(mirror)) throw new UsageError(`--mirror '${mirror}' is not an http(s) URL of plain characters.`);
  const failureProblems = checkOnSociFailure(values["on-soci-failure"], "--on-soci-failure");
  if (failureProblems.length > 0) throw new UsageError(formatProblem(failureProblems[0]));
  const onSociFailure = values["on-soci-failure"] as SociFailurePolicy | undefined;
  if (values["keep-soci-on-root-volume"] && !values.ssd) throw new UsageError("--keep-soci-on-root-volume needs --ssd.");

  const clusterFlags = ["cluster-name", "api-server-endpoint", "certificate-authority", "service-cidr"] as const;
  const given = clusterFlags.filter((f) => values[f] !== undefined);
  let cluster: ClusterConnection | undefined;
  if (given.length > 0 && given.length < clusterFlags.length) {
    const missing = clusterFlags.filter((f) => values[f] === undefined).map((f) => `--${f}`);
    throw new UsageError(`cluster fields are all or none: missing ${missing.join(", ")}.`);
  }
  if (given.length === clusterFlags.length) {
    cluster = {
      name: values["cluster-name"]!,
      apiServerEndpoint: values["api-server-endpoint"]!,
      certificateAuthority: values["certificate-authority"]!,
      serviceCidr: values["service-cidr"]!,
    };
  }
  const labels = Object.fromEntries((values.label ?? []).map(parseLabel));
  const taints = (values.taint ?? []).map(parseTaint);
  // With --karpenter, Karpenter's instanceStorePolicy RAID0 builds the array; the user data must not ask twice,
  // but still keeps SOCI on EBS when asked (AL2023) and installs the kubelet instance-store check.
  if (values.karpenter && os === "bottlerocket" && values["keep-soci-on-root-volume"]) {
    throw new UsageError("--keep-soci-on-root-volume is not available with --karpenter on Bottlerocket: Karpenter's instance-store bootstrap command binds its own list of directories.");
  }
  const localStorage = values.ssd
    ? { raid0: true, keepSociOnRootVolume: values["keep-soci-on-root-volume"], ...(values.karpenter ? { arrayBuiltByKarpenter: true } : {}) }
    : undefined;
  const options: NodeBootstrapOptions = {
    mode,
    release: { version, mirrorBaseUrl: mirror.replace(/\/+$/, ""), ...(sha256 ? { sha256 } : {}) },
    instance: { instanceType, vcpus, memoryMiB, architectures: [architecture], gpus: 0 },
    architecture,
    ...(cluster ? { cluster } : {}),
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(taints.length > 0 ? { taints } : {}),
    ...(localStorage ? { localStorage } : {}),
    ...(onSociFailure ? { onSociFailure } : {}),
  };
  const karpenter = values.karpenter
    ? {
        name: values["node-class-name"] ?? `soci-${mode}`,
        role: values.role!,
        discovery: values["discovery-tag"] ?? cluster?.name ?? "my-cluster",
        ssd: values.ssd ? "yes" : "",
      }
    : undefined;
  return { os, options, ...(karpenter ? { karpenter } : {}) };
}

/** A Karpenter EC2NodeClass (karpenter.k8s.aws/v1) carrying the user data. */
export function ec2NodeClass(os: OsFamily, userData: string, k: Record<string, string>): string {
  const spec: Record<string, unknown> = {
    amiSelectorTerms: [{ alias: `${os}@latest` }],
    role: k.role,
    subnetSelectorTerms: [{ tags: { "karpenter.sh/discovery": k.discovery } }],
    securityGroupSelectorTerms: [{ tags: { "karpenter.sh/discovery": k.discovery } }],
    metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
    blockDeviceMappings: [
      {
        deviceName: os === "bottlerocket" ? "/dev/xvdb" : "/dev/xvda",
        ebs: { volumeSize: "100Gi", volumeType: "gp3", iops: 6000, throughput: 600, encrypted: true, deleteOnTermination: true },
      },
    ],
    ...(k.ssd ? { instanceStorePolicy: "RAID0" } : {}),
    userData,
  };
  return yamlStringify({ apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass", metadata: { name: k.name }, spec }, { lineWidth: 0 });
}

/** Runs the CLI; returns the exit code. */
export function main(argv: string[], out: (s: string) => void, err: (s: string) => void): number {
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    (command === undefined ? err : out)(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== "userdata") {
    err(`unknown command '${command}'.\n${USAGE}`);
    return 2;
  }
  try {
    const { os, options, karpenter } = parseUserdataArgs(rest);
    const text = renderUserData(os, options).text;
    out(karpenter ? ec2NodeClass(os, text, karpenter) : text);
    return 0;
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    err(`soci-eks userdata: ${message}\n(see soci-eks help)\n`);
    return 2;
  }
}

if (require.main === module) {
  process.exitCode = main(process.argv.slice(2), (s) => process.stdout.write(s), (s) => process.stderr.write(s));
}
