/**
 * One table of bad inputs across the three entry points (CLI, stack config, components). Each one must be
 * refused before anything is printed or created, with a message naming the setting, the value and the fix;
 * where the CLI and the components apply the same rule, the message is the same text but for the setting's name.
 */
import { strict as assert } from "assert";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { INSTANCE_TYPES, installMocks, settle } from "../helpers/mocks";

const mocks = installMocks(false);
// Components load after the mocks are installed.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const config: typeof import("../../components/config") = require("../../components/config");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const cli: typeof import("../../cli/main") = require("../../cli/main");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const cliUserdata: typeof import("../../cli/userdata") = require("../../cli/userdata");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const nodeGroupModule: typeof import("../../components/sociNodeGroup") = require("../../components/sociNodeGroup");
import { instanceFactsFromEc2 } from "../../validation/instanceTypes";
import { formatProblem, showValue } from "../../validation/problems";
import { builtInVersionCatalog } from "../../validation/kubernetesVersions";
import { InstanceFacts, NodeTaint } from "../../userdata/types";

const { SociNodeGroup, SociConfigError, validateSociClusterArgs } = components;

/** A fixed day inside every calendar window the stack cases touch (the Kubernetes version is not under test here). */
const TODAY = new Date("2026-12-01T00:00:00Z");
const CA = Buffer.from("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").toString("base64");
const ENDPOINT = "https://ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com";
const CLUSTER = ["--cluster-name", "prod", "--api-server-endpoint", ENDPOINT, "--certificate-authority", CA, "--service-cidr", "172.20.0.0/16"];
const KARPENTER = ["--karpenter", "--role", "KarpenterNodeRole-prod", "--discovery-tag", "prod"];

function facts(instanceType: string): InstanceFacts {
  return instanceFactsFromEc2({ instanceType, ...(INSTANCE_TYPES[instanceType] as object) } as Parameters<typeof instanceFactsFromEc2>[0]);
}

/** What an entry point did with a bad input: whether it refused, and its message lines (`setting: value reason. fix`). */
interface Outcome {
  refused: boolean;
  lines: string[];
  /** Anything it produced anyway (printed text, registered resources). */
  produced: number;
}

type Kind = "cli" | "stack" | "component";

interface BadInput {
  kind: Kind;
  /** What is wrong, for the test name. */
  what: string;
  /** The shared rule, when the same rule is applied by more than one entry point. */
  rule?: string;
  run: () => Promise<Outcome>;
  setting: string;
  /** The offending value as the message shows it; absent for a missing setting. */
  value?: unknown;
  /** A piece of the fix the message must carry. */
  fix: string;
}

function problemLines(text: string): string[] {
  return text.split("\n").filter((l) => l.startsWith("  - ")).map((l) => l.slice(4));
}

/** Runs the CLI in-process (the same `main` the bin runs). */
function cliRun(...args: string[]): () => Promise<Outcome> {
  return async () => {
    let out = "";
    let err = "";
    const code = cli.main(args, (s) => (out += s), (s) => (err += s));
    return { refused: code === 2, lines: problemLines(err), produced: out.length };
  };
}

const ud = (...args: string[]) => cliRun("userdata", ...args);

/** Runs the stack config path: Pulumi config → loadStackConfig → clusterArgsFromStackConfig → validateSociClusterArgs. */
function stackRun(settings: Record<string, unknown>): () => Promise<Outcome> {
  return async () => {
    pulumi.runtime.setAllConfig(Object.fromEntries(Object.entries(settings).map(([k, v]) => [`soci-eks:${k}`, typeof v === "string" ? v : JSON.stringify(v)])));
    try {
      const cfg = config.loadStackConfig(new pulumi.Config("soci-eks"));
      const { args, naming } = config.clusterArgsFromStackConfig(cfg);
      const types = new Set(args.nodeGroups.map((g) => g.instanceType ?? "m7i.xlarge"));
      const factsMap = new Map([...types].filter((t) => INSTANCE_TYPES[t]).map((t) => [t, facts(t)]));
      const result = validateSociClusterArgs(args, factsMap, naming, builtInVersionCatalog(TODAY));
      return { refused: result.problems.length > 0, lines: result.problems.map(formatProblem), produced: 0 };
    } catch (e) {
      if (!(e instanceof SociConfigError)) throw e;
      return { refused: true, lines: problemLines(e.message), produced: 0 };
    }
  };
}

/** Constructs a SociNodeGroup named `ng` with the given args (facts of `instanceType`, default m7i.xlarge). */
function componentRun(args: Partial<import("../../components/sociNodeGroup").SociNodeGroupArgs>): () => Promise<Outcome> {
  return async () => {
    mocks.reset();
    const instanceType = args.instanceType ?? "m7i.xlarge";
    let refused = false;
    let lines: string[] = [];
    try {
      new SociNodeGroup("ng", { clusterName: "prod", subnetIds: [], instanceFacts: facts(instanceType), ...args, instanceType });
    } catch (e) {
      if (!(e instanceof SociConfigError)) throw e;
      refused = true;
      lines = problemLines(e.message);
    }
    await settle(mocks, 20);
    return { refused, lines, produced: mocks.resources.length };
  };
}

const taint = (t: Partial<NodeTaint> & Record<string, unknown>) => t as NodeTaint;

const CASES: BadInput[] = [
  // ---- CLI: node-group rules shared with the components
  { kind: "cli", what: "unknown mode", rule: "mode", run: ud("--instance-type", "m7i.xlarge", "--mode", "fast"), setting: "--mode", value: "fast", fix: "to lazy (default), parallel or off" },
  { kind: "cli", what: "unknown OS", rule: "os", run: ud("--instance-type", "m7i.xlarge", "--os", "windows"), setting: "--os", value: "windows", fix: "to al2023 (default) or bottlerocket" },
  { kind: "cli", what: "lazy on Bottlerocket", rule: "bottlerocket-lazy", run: ud("--instance-type", "m7i.xlarge", "--os", "bottlerocket"), setting: "--mode", value: "lazy", fix: "to parallel or off" },
  { kind: "cli", what: "soci 0.5.0", rule: "soci-old", run: ud("--instance-type", "m7i.xlarge", "--soci-version", "0.5.0"), setting: "--soci-version", value: "0.5.0", fix: "to 0.11.0 or newer" },
  { kind: "cli", what: "soci version with a v", rule: "soci-v", run: ud("--instance-type", "m7i.xlarge", "--soci-version", "v0.16.1"), setting: "--soci-version", value: "v0.16.1", fix: "Drop the v" },
  { kind: "cli", what: "soci version not X.Y.Z", rule: "soci-malformed", run: ud("--instance-type", "m7i.xlarge", "--soci-version", "0.16"), setting: "--soci-version", value: "0.16", fix: "without a leading v" },
  { kind: "cli", what: "sha256 not a digest", rule: "sha", run: ud("--instance-type", "m7i.xlarge", "--soci-sha256", "abc"), setting: "--soci-sha256", value: "abc", fix: "sha256sum soci-snapshotter-" },
  { kind: "cli", what: "ftp mirror", rule: "mirror", run: ud("--instance-type", "m7i.xlarge", "--mirror", "ftp://mirror.example/soci"), setting: "--mirror", value: "ftp://mirror.example/soci", fix: "the base that holds v<version>/" },
  { kind: "cli", what: "mirror with a query", run: ud("--instance-type", "m7i.xlarge", "--mirror", "https://mirror.example/soci?token=x"), setting: "--mirror", value: "https://mirror.example/soci?token=x", fix: "the base that holds v<version>/" },
  { kind: "cli", what: "--ssd on a type without instance storage", rule: "ssd-none", run: ud("--instance-type", "m7i.xlarge", "--ssd"), setting: "--instance-type", value: "m7i.xlarge", fix: "e.g. m6id.xlarge or m7gd.xlarge" },
  { kind: "cli", what: "--ssd on a type with non-NVMe instance storage", rule: "ssd-not-nvme", run: ud("--instance-type", "d2.xlarge", "--ssd"), setting: "--instance-type", value: "d2.xlarge", fix: "Use a type with local NVMe SSDs" },
  { kind: "cli", what: "a 2 vCPU / 2 GiB type", rule: "too-small", run: ud("--instance-type", "t3.small"), setting: "--instance-type", value: "t3.small", fix: "Use a larger type" },
  { kind: "cli", what: "1 vCPU (facts from flags)", run: ud("--instance-type", "x9.large", "--vcpus", "1", "--memory-mib", "8192", "--arch", "x86_64"), setting: "--instance-type", value: "x9.large", fix: "Use a larger type" },
  { kind: "cli", what: "keep SOCI on EBS without --ssd", rule: "keep-without-ssd", run: ud("--instance-type", "m7i.xlarge", "--keep-soci-on-root-volume"), setting: "--keep-soci-on-root-volume", value: true, fix: "to true, or unset" },
  { kind: "cli", what: "label key with a space", rule: "label", run: ud("--instance-type", "m7i.xlarge", "--label", "my team=ml"), setting: "--label", value: "my team=ml", fix: "Use [prefix/]name keys" },
  { kind: "cli", what: "label value with =", run: ud("--instance-type", "m7i.xlarge", "--label", "team=ml=x"), setting: "--label", value: "team=ml=x", fix: "Use [prefix/]name keys" },
  { kind: "cli", what: "label prefix over 253 characters", run: ud("--instance-type", "m7i.xlarge", "--label", `${"a".repeat(254)}/team=ml`), setting: "--label", value: `${"a".repeat(254)}/team=ml`, fix: "Use [prefix/]name keys" },
  { kind: "cli", what: "the same label twice", run: ud("--instance-type", "m7i.xlarge", "--label", "team=ml", "--label", "team=web"), setting: "--label", value: "team", fix: "Pass --label team=… once" },
  { kind: "cli", what: "label in soci-eks/", rule: "label-prefix", run: ud("--instance-type", "m7i.xlarge", "--label", "soci-eks/mode=x"), setting: "--label", value: "soci-eks/mode", fix: "Choose another label prefix" },
  { kind: "cli", what: "taint key with a space", rule: "taint", run: ud("--instance-type", "m7i.xlarge", "--taint", "big images:NoSchedule"), setting: "--taint", value: { key: "big images", effect: "NoSchedule" }, fix: "Give each taint a label-style key" },
  { kind: "cli", what: "taint effect unknown", run: ud("--instance-type", "m7i.xlarge", "--taint", "k=v:Sometimes"), setting: "--taint", value: { key: "k", value: "v", effect: "Sometimes" }, fix: "NoSchedule, PreferNoSchedule, NoExecute" },
  { kind: "cli", what: "taint without an effect", run: ud("--instance-type", "m7i.xlarge", "--taint", "k=v"), setting: "--taint", value: "k=v", fix: "Pass --taint key[=value]:Effect" },
  { kind: "cli", what: "ECR registry with a scheme", rule: "ecr", run: ud("--instance-type", "m7i.xlarge", "--extra-ecr-registry", "https://123456789012.dkr.ecr.us-west-2.amazonaws.com"), setting: "--extra-ecr-registry", value: "https://123456789012.dkr.ecr.us-west-2.amazonaws.com", fix: "no https://, no path" },
  { kind: "cli", what: "ECR registry on Bottlerocket", rule: "ecr-bottlerocket", run: ud("--instance-type", "m7i.xlarge", "--os", "bottlerocket", "--mode", "parallel", "--extra-ecr-registry", "123456789012.dkr.ecr.us-west-2.amazonaws.com"), setting: "--extra-ecr-registry", value: "123456789012.dkr.ecr.us-west-2.amazonaws.com", fix: "allow the node role in those repositories' policies" },
  // ---- CLI: instance facts
  { kind: "cli", what: "a type the CLI cannot know", run: ud("--instance-type", "x9.huge"), setting: "--instance-type", value: "x9.huge", fix: "Pass --vcpus, --memory-mib, --arch as `aws ec2 describe-instance-types" },
  { kind: "cli", what: "an impossible type name", run: ud("--instance-type", "M7I-XLARGE"), setting: "--instance-type", value: "M7I-XLARGE", fix: "such as m7i.xlarge" },
  { kind: "cli", what: "no instance type", run: ud("--mode", "parallel"), setting: "--instance-type", fix: "Pass --instance-type" },
  { kind: "cli", what: "vCPUs contradicting the table", run: ud("--instance-type", "m7i.xlarge", "--vcpus", "1"), setting: "--vcpus", value: "1", fix: "Drop --vcpus (the CLI knows m7i.xlarge)" },
  { kind: "cli", what: "architecture contradicting the table", run: ud("--instance-type", "m7i.xlarge", "--arch", "arm64"), setting: "--arch", value: "arm64", fix: "Drop --arch" },
  { kind: "cli", what: "vCPUs not a number", run: ud("--instance-type", "x9.large", "--vcpus", "four", "--memory-mib", "8192", "--arch", "x86_64"), setting: "--vcpus", value: "four", fix: "Pass --vcpus N" },
  { kind: "cli", what: "arch amd64", run: ud("--instance-type", "x9.large", "--vcpus", "4", "--memory-mib", "8192", "--arch", "amd64"), setting: "--arch", value: "amd64", fix: "amd64 is x86_64" },
  // ---- CLI: cluster fields (rules shared with SociNodeGroup's clusterName/clusterConnection)
  { kind: "cli", what: "cluster name with a space", rule: "cluster-name", run: ud("--instance-type", "m7i.xlarge", ...CLUSTER.slice(2), "--cluster-name", "my cluster"), setting: "--cluster-name", value: "my cluster", fix: "aws eks list-clusters" },
  { kind: "cli", what: "http endpoint", rule: "endpoint", run: ud("--instance-type", "m7i.xlarge", ...CLUSTER, "--api-server-endpoint", "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com"), setting: "--api-server-endpoint", value: "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint" },
  { kind: "cli", what: "endpoint that is no URL", run: ud("--instance-type", "m7i.xlarge", ...CLUSTER, "--api-server-endpoint", "ABCDEF.eks.amazonaws.com"), setting: "--api-server-endpoint", value: "ABCDEF.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint" },
  { kind: "cli", what: "CA not base64", rule: "ca", run: ud("--instance-type", "m7i.xlarge", ...CLUSTER, "--certificate-authority", "not base64!"), setting: "--certificate-authority", value: "not base64!", fix: "certificateAuthority.data" },
  { kind: "cli", what: "service CIDR /8", rule: "cidr", run: ud("--instance-type", "m7i.xlarge", ...CLUSTER, "--service-cidr", "10.0.0.0/8"), setting: "--service-cidr", value: "10.0.0.0/8", fix: "e.g. 172.20.0.0/16" },
  { kind: "cli", what: "service CIDR not an address", run: ud("--instance-type", "m7i.xlarge", ...CLUSTER, "--service-cidr", "300.1.0.0/16"), setting: "--service-cidr", value: "300.1.0.0/16", fix: "e.g. 172.20.0.0/16" },
  { kind: "cli", what: "one cluster field alone", run: ud("--instance-type", "m7i.xlarge", "--cluster-name", "prod"), setting: "--cluster-name", value: "prod", fix: "Pass all four of" },
  // ---- CLI: --karpenter
  { kind: "cli", what: "node class name SOCI_Lazy", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", "SOCI_Lazy"), setting: "--node-class-name", value: "SOCI_Lazy", fix: "such as soci-lazy" },
  { kind: "cli", what: "empty node class name", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", ""), setting: "--node-class-name", value: "", fix: "such as soci-lazy" },
  { kind: "cli", what: "node class name of 300 characters", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", "a".repeat(300)), setting: "--node-class-name", value: "a".repeat(300), fix: "such as soci-lazy" },
  { kind: "cli", what: "node class name with /", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", "soci/lazy"), setting: "--node-class-name", value: "soci/lazy", fix: "such as soci-lazy" },
  { kind: "cli", what: "node class name with a space", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--node-class-name", "soci lazy"), setting: "--node-class-name", value: "soci lazy", fix: "such as soci-lazy" },
  { kind: "cli", what: "no role", run: ud("--instance-type", "m7i.xlarge", "--karpenter", "--discovery-tag", "prod"), setting: "--role", fix: "or --instance-profile" },
  { kind: "cli", what: "empty role", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--role", ""), setting: "--role", value: "", fix: "the node role's name" },
  { kind: "cli", what: "blank role", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--role", "   "), setting: "--role", value: "   ", fix: "the node role's name" },
  { kind: "cli", what: "role and instance profile", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--instance-profile", "KarpenterNodeProfile"), setting: "--instance-profile", value: "KarpenterNodeProfile", fix: "Drop --instance-profile or --role" },
  { kind: "cli", what: "no discovery tag", run: ud("--instance-type", "m7i.xlarge", "--karpenter", "--role", "KarpenterNodeRole-prod"), setting: "--discovery-tag", fix: "usually the cluster name" },
  { kind: "cli", what: "empty discovery tag", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--discovery-tag", ""), setting: "--discovery-tag", value: "", fix: "usually the cluster name" },
  { kind: "cli", what: "--taint with --karpenter", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, "--taint", "big=true:NoSchedule"), setting: "--taint", value: "big=true:NoSchedule", fix: "on the NodePool (spec.template.spec.taints)" },
  { kind: "cli", what: "cluster fields with --karpenter", run: ud("--instance-type", "m7i.xlarge", ...KARPENTER, ...CLUSTER), setting: "--api-server-endpoint", value: ENDPOINT, fix: "Drop --api-server-endpoint" },
  { kind: "cli", what: "--role without --karpenter", run: ud("--instance-type", "m7i.xlarge", "--role", "KarpenterNodeRole-prod"), setting: "--role", value: "KarpenterNodeRole-prod", fix: "Add --karpenter, or drop --role" },
  { kind: "cli", what: "--node-class-name without --karpenter", run: ud("--instance-type", "m7i.xlarge", "--node-class-name", "soci"), setting: "--node-class-name", value: "soci", fix: "Add --karpenter" },
  { kind: "cli", what: "Bottlerocket 1.43 alias", run: ud("--instance-type", "m7i.xlarge", "--os", "bottlerocket", "--mode", "parallel", ...KARPENTER, "--ami-alias", "bottlerocket@v1.43.0"), setting: "--ami-alias", value: "bottlerocket@v1.43.0", fix: "bottlerocket@v1.46.0 or newer" },
  { kind: "cli", what: "alias of another family", run: ud("--instance-type", "m7i.xlarge", "--os", "bottlerocket", "--mode", "parallel", ...KARPENTER, "--ami-alias", "al2023@latest"), setting: "--ami-alias", value: "al2023@latest", fix: "bottlerocket@latest" },
  { kind: "cli", what: "unknown flag", run: ud("--instance-type", "m7i.xlarge", "--colour"), setting: "--colour", fix: "soci-eks userdata --help" },
  { kind: "cli", what: "unknown command", run: cliRun("frobnicate"), setting: "soci-eks", value: "frobnicate", fix: "Use one of userdata, pull-report" },

  // ---- stack config (Pulumi config keys), same rules
  { kind: "stack", what: "unknown mode", rule: "mode", run: stackRun({ sociMode: "fast" }), setting: "soci-eks:sociMode", value: "fast", fix: "to lazy (default), parallel or off" },
  { kind: "stack", what: "unknown OS", rule: "os", run: stackRun({ os: "windows" }), setting: "soci-eks:os", value: "windows", fix: "to al2023 (default) or bottlerocket" },
  { kind: "stack", what: "Bottlerocket with the default lazy mode", rule: "bottlerocket-lazy", run: stackRun({ os: "bottlerocket" }), setting: "soci-eks:sociMode", value: "lazy", fix: "to parallel or off" },
  { kind: "stack", what: "soci 0.5.0", rule: "soci-old", run: stackRun({ sociVersion: "0.5.0" }), setting: "soci-eks:sociVersion", value: "0.5.0", fix: "to 0.11.0 or newer" },
  { kind: "stack", what: "a misspelt key (the Pulumi CLI ignores it)", run: stackRun({ instanceTypo: "m7g.xlarge" }), setting: "soci-eks:instanceTypo", value: "m7g.xlarge", fix: "Did you mean instanceType?" },
  { kind: "stack", what: "Kubernetes 1.28, long ended", run: stackRun({ kubernetesVersion: "1.28" }), setting: "soci-eks:kubernetesVersion", value: "1.28", fix: "to one of 1.32, 1.33, 1.34, 1.35, 1.36" },
  { kind: "stack", what: "sha256 not a digest", rule: "sha", run: stackRun({ sociSha256: "abc" }), setting: "soci-eks:sociSha256", value: "abc", fix: "sha256sum soci-snapshotter-" },
  { kind: "stack", what: "ftp mirror", rule: "mirror", run: stackRun({ sociMirrorUrl: "ftp://mirror.example/soci" }), setting: "soci-eks:sociMirrorUrl", value: "ftp://mirror.example/soci", fix: "the base that holds v<version>/" },
  { kind: "stack", what: "ssd on a type without instance storage", rule: "ssd-none", run: stackRun({ ssd: true }), setting: "soci-eks:instanceType", value: "m7i.xlarge", fix: "e.g. m6id.xlarge or m7gd.xlarge" },
  { kind: "stack", what: "a 2 vCPU / 2 GiB type", rule: "too-small", run: stackRun({ instanceType: "t3.small" }), setting: "soci-eks:instanceType", value: "t3.small", fix: "Use a larger type" },
  { kind: "stack", what: "keep SOCI on EBS without ssd", rule: "keep-without-ssd", run: stackRun({ keepSociOnRootVolume: true }), setting: "soci-eks:keepSociOnRootVolume", value: true, fix: "to true, or unset" },
  { kind: "stack", what: "a node group label key with a space", rule: "label", run: stackRun({ nodeGroups: [{ name: "a", labels: { "my team": "ml" } }] }), setting: "soci-eks:nodeGroups[0].labels", value: "my team=ml", fix: "Use [prefix/]name keys" },
  { kind: "stack", what: "a node group taint key with a space", rule: "taint", run: stackRun({ nodeGroups: [{ name: "a", taints: [{ key: "big images", effect: "NoSchedule" }] }] }), setting: "soci-eks:nodeGroups[0].taints", value: { key: "big images", effect: "NoSchedule" }, fix: "Give each taint a label-style key" },
  { kind: "stack", what: "an unknown node group key", run: stackRun({ nodeGroups: [{ name: "a", colour: "blue" }] }), setting: "soci-eks:nodeGroups[0].colour", fix: "Use only name, instanceType" },
  { kind: "stack", what: "gp3 IOPS below 3000", run: stackRun({ rootVolumeIops: 100 }), setting: "soci-eks:rootVolumeIops", value: 100, fix: "between 3000 and 16000" },
  { kind: "stack", what: "a node group name with capitals", run: stackRun({ nodeGroups: [{ name: "Big" }] }), setting: "soci-eks:nodeGroups[0].name", value: "Big", fix: "Rename it" },

  // ---- components (SociNodeGroup args), same rules
  { kind: "component", what: "unknown mode", rule: "mode", run: componentRun({ sociMode: "fast" as never }), setting: "ng.sociMode", value: "fast", fix: "to lazy (default), parallel or off" },
  { kind: "component", what: "unknown OS", rule: "os", run: componentRun({ os: "windows" as never }), setting: "ng.os", value: "windows", fix: "to al2023 (default) or bottlerocket" },
  { kind: "component", what: "Bottlerocket with the default lazy mode", rule: "bottlerocket-lazy", run: componentRun({ os: "bottlerocket" }), setting: "ng.sociMode", value: "lazy", fix: "to parallel or off" },
  { kind: "component", what: "soci 0.5.0", rule: "soci-old", run: componentRun({ soci: { version: "0.5.0" } }), setting: "ng.soci.version", value: "0.5.0", fix: "to 0.11.0 or newer" },
  { kind: "component", what: "soci version with a v", rule: "soci-v", run: componentRun({ soci: { version: "v0.16.1" } }), setting: "ng.soci.version", value: "v0.16.1", fix: "Drop the v" },
  { kind: "component", what: "soci version not X.Y.Z", rule: "soci-malformed", run: componentRun({ soci: { version: "0.16" } }), setting: "ng.soci.version", value: "0.16", fix: "without a leading v" },
  { kind: "component", what: "sha256 not a digest", rule: "sha", run: componentRun({ soci: { sha256: "abc" } }), setting: "ng.soci.sha256", value: "abc", fix: "sha256sum soci-snapshotter-" },
  { kind: "component", what: "ftp mirror", rule: "mirror", run: componentRun({ soci: { mirrorBaseUrl: "ftp://mirror.example/soci" } }), setting: "ng.soci.mirrorBaseUrl", value: "ftp://mirror.example/soci", fix: "the base that holds v<version>/" },
  { kind: "component", what: "ssd on a type without instance storage", rule: "ssd-none", run: componentRun({ ssd: true }), setting: "ng.instanceType", value: "m7i.xlarge", fix: "e.g. m6id.xlarge or m7gd.xlarge" },
  { kind: "component", what: "ssd on a type with non-NVMe instance storage", rule: "ssd-not-nvme", run: componentRun({ instanceType: "d2.xlarge", ssd: true }), setting: "ng.instanceType", value: "d2.xlarge", fix: "Use a type with local NVMe SSDs" },
  { kind: "component", what: "a 2 vCPU / 2 GiB type", rule: "too-small", run: componentRun({ instanceType: "t3.small" }), setting: "ng.instanceType", value: "t3.small", fix: "Use a larger type" },
  { kind: "component", what: "keep SOCI on EBS without ssd", rule: "keep-without-ssd", run: componentRun({ keepSociOnRootVolume: true }), setting: "ng.keepSociOnRootVolume", value: true, fix: "to true, or unset" },
  { kind: "component", what: "label key with a space", rule: "label", run: componentRun({ labels: { "my team": "ml" } }), setting: "ng.labels", value: "my team=ml", fix: "Use [prefix/]name keys" },
  { kind: "component", what: "label in soci-eks/", rule: "label-prefix", run: componentRun({ labels: { "soci-eks/mode": "x" } }), setting: "ng.labels", value: "soci-eks/mode", fix: "Choose another label prefix" },
  { kind: "component", what: "taint key with a space", rule: "taint", run: componentRun({ taints: [taint({ key: "big images", effect: "NoSchedule" })] }), setting: "ng.taints", value: { key: "big images", effect: "NoSchedule" }, fix: "Give each taint a label-style key" },
  { kind: "component", what: "cluster name with a space", rule: "cluster-name", run: componentRun({ clusterName: "my cluster" }), setting: "ng.clusterName", value: "my cluster", fix: "aws eks list-clusters" },
  {
    kind: "component", what: "http endpoint", rule: "endpoint",
    run: componentRun({ clusterConnection: { endpoint: "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com", certificateAuthority: CA, serviceCidr: "172.20.0.0/16" } }),
    setting: "ng.clusterConnection.endpoint", value: "http://ABCDEF.gr7.us-west-2.eks.amazonaws.com", fix: "describe-cluster --query cluster.endpoint",
  },
  {
    kind: "component", what: "CA not base64", rule: "ca",
    run: componentRun({ clusterConnection: { endpoint: ENDPOINT, certificateAuthority: "not base64!", serviceCidr: "172.20.0.0/16" } }),
    setting: "ng.clusterConnection.certificateAuthority", value: "not base64!", fix: "certificateAuthority.data",
  },
  {
    kind: "component", what: "service CIDR /8", rule: "cidr",
    run: componentRun({ clusterConnection: { endpoint: ENDPOINT, certificateAuthority: CA, serviceCidr: "10.0.0.0/8" } }),
    setting: "ng.clusterConnection.serviceCidr", value: "10.0.0.0/8", fix: "e.g. 172.20.0.0/16",
  },
  { kind: "component", what: "ECR registry with a scheme", rule: "ecr", run: componentRun({ extraEcrRegistries: ["https://123456789012.dkr.ecr.us-west-2.amazonaws.com"] }), setting: "ng.extraEcrRegistries", value: "https://123456789012.dkr.ecr.us-west-2.amazonaws.com", fix: "no https://, no path" },
  { kind: "stack", what: "ECR registry on Bottlerocket", rule: "ecr-bottlerocket", run: stackRun({ os: "bottlerocket", sociMode: "parallel", extraEcrRegistries: ["123456789012.dkr.ecr.us-west-2.amazonaws.com"] }), setting: "soci-eks:extraEcrRegistries", value: "123456789012.dkr.ecr.us-west-2.amazonaws.com", fix: "allow the node role in those repositories' policies" },
  { kind: "component", what: "maxSize 0", run: componentRun({ scaling: { minSize: 0, desiredSize: 0, maxSize: 0 } }), setting: "ng.scaling.maxSize", value: 0, fix: "to 1 or more" },
  { kind: "component", what: "hop limit 0", run: componentRun({ metadataHopLimit: 0 }), setting: "ng.metadataHopLimit", value: 0, fix: "to 1 (default) or 2" },
];

/** The message line of a case: `setting: value …` (or `setting …` for a missing value). */
function lineOf(c: BadInput, lines: string[]): string | undefined {
  const head = c.value === undefined ? `${c.setting} ` : `${c.setting}: ${showValue(c.value)} `;
  return lines.find((l) => l.startsWith(head));
}

/** Every name a setting has in each entry point, mapped to one placeholder per key, longest first. */
function names(kind: Kind): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [key, path] of Object.entries(nodeGroupModule.ARG_PATHS)) {
    if (kind === "component") pairs.push([`ng.${path}`, `<${key}>`]);
    if (kind === "stack") pairs.push([`soci-eks:nodeGroups[0].${key}`, `<${key}>`], [`soci-eks:${key}`, `<${key}>`]);
    const flag = cliUserdata.FLAG_OF[key as keyof typeof cliUserdata.FLAG_OF];
    if (kind === "cli" && flag) pairs.push([flag, `<${key}>`]);
  }
  for (const [key, path] of Object.entries(nodeGroupModule.CONNECTION_ARG_PATHS)) {
    if (kind === "component") pairs.push([`ng.${path}`, `<cluster.${key}>`]);
    if (kind === "cli") pairs.push([cliUserdata.CLUSTER_FLAGS[key as keyof typeof cliUserdata.CLUSTER_FLAGS], `<cluster.${key}>`]);
  }
  return pairs.sort((a, b) => b[0].length - a[0].length);
}

function normalize(kind: Kind, line: string): string {
  let text = line;
  for (const [name, placeholder] of names(kind)) text = text.split(name).join(placeholder);
  return text;
}

describe("bad inputs: refused by the CLI, the stack config and the components with the setting, the value and the fix", () => {
  beforeEach(() => mocks.reset());

  it("the table covers at least 40 bad inputs, from all three entry points", () => {
    assert.ok(CASES.length >= 40, `${CASES.length} cases`);
    for (const kind of ["cli", "stack", "component"] as const) assert.ok(CASES.filter((c) => c.kind === kind).length >= 10, kind);
  });

  for (const c of CASES) {
    it(`${c.kind}: ${c.what} → ${c.setting}`, async () => {
      const outcome = await c.run();
      assert.ok(outcome.refused, `not refused: ${outcome.lines.join(" | ")}`);
      assert.equal(outcome.produced, 0, "something was printed or created");
      const line = lineOf(c, outcome.lines);
      assert.ok(line, `no message for ${c.setting} ${showValue(c.value)} among:\n${outcome.lines.join("\n")}`);
      assert.ok(line.includes(c.fix), `fix '${c.fix}' missing from: ${line}`);
      // `setting: value reason. Fix sentence.`: a reason and a fix after the value.
      assert.match(line, /\S \S.*\. [A-Z].*\.$/, line);
    });
  }

  it("a rule the CLI shares with the components or the stack config gives the same message, but for the setting's name", async () => {
    const seen = new Map<string, Map<Kind, string>>();
    for (const c of CASES.filter((x) => x.rule)) {
      const line = lineOf(c, (await c.run()).lines);
      assert.ok(line, `${c.kind}: ${c.what}`);
      const byKind = seen.get(c.rule!) ?? new Map<Kind, string>();
      byKind.set(c.kind, normalize(c.kind, line));
      seen.set(c.rule!, byKind);
    }
    let compared = 0;
    for (const [rule, byKind] of seen) {
      const texts = [...byKind.entries()];
      for (const [kind, text] of texts.slice(1)) {
        assert.equal(text, texts[0][1], `rule ${rule}: ${texts[0][0]} vs ${kind}`);
        compared++;
      }
    }
    // Every shared rule above appears in at least two entry points.
    const rules = new Set(CASES.filter((c) => c.rule).map((c) => c.rule));
    for (const rule of rules) assert.ok((seen.get(rule!)?.size ?? 0) >= 2, `rule ${rule} runs in one entry point only`);
    assert.ok(compared >= 20, `${compared} comparisons`);
  });
});
