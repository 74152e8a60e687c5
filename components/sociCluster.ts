import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as pulumi from "@pulumi/pulumi";
import { InstanceFacts } from "../userdata/types";
import { ClusterSettings, NamedNodeGroupSettings, validateCluster, ValidationResult } from "../validation/cluster";
import { builtInVersionCatalog, KubernetesVersionCatalog } from "../validation/kubernetesVersions";
import { NodeGroupSettingKey } from "../validation/nodeGroup";
import {
  CLUSTER_SECURITY_DEFAULTS,
  ClusterSecuritySettings,
  ControlPlaneLogType,
  NatGatewayLayout,
  validateClusterSecurity,
  VpcCniCredentials,
} from "../validation/clusterSecurity";
import { throwIfProblems } from "../validation/problems";
import { DEFAULTS } from "./defaults";
import { lookupInstanceFacts } from "./instanceFacts";
import { lookupKubernetesVersions } from "./kubernetesVersionLookup";
import { ARG_PATHS, bootstrapOptionsFor, nodeGroupSettings, nodeGroupSizeProblems, SociNodeGroup, SociNodeGroupArgs, VPC_CNI_POLICY } from "./sociNodeGroup";
import { ClusterNetwork, createVpc } from "./vpc";

/** One node group of a {@link SociCluster}: {@link SociNodeGroupArgs} without the cluster-provided fields, plus a name. */
export interface SociClusterNodeGroupArgs
  extends Omit<SociNodeGroupArgs, "clusterName" | "subnetIds" | "instanceFacts" | "kubernetesVersion" | "kubernetesVersionCatalog" | "clusterConnection" | "vpcCniCredentials"> {
  /** Node group name: 1-32 lowercase letters, digits and `-`; unique in the cluster. */
  name: string;
}

/** Arguments of {@link SociCluster}. */
export interface SociClusterArgs {
  /**
   * Kubernetes minor version, e.g. `1.35` (default). Checked against `kubernetesVersionCatalog`: a version EKS does
   * not list or no longer creates is rejected, one in extended support (extra cost) is a warning.
   */
  kubernetesVersion?: string;
  /**
   * The Kubernetes versions to check against. {@link SociCluster.create} reads EKS's own list
   * (`aws.eks.getClusterVersions`); without it, the constructor uses soci-eks's built-in calendar on today's date.
   */
  kubernetesVersionCatalog?: KubernetesVersionCatalog;
  /** The node groups; at least one. */
  nodeGroups: SociClusterNodeGroupArgs[];
  /**
   * EC2 facts per instance type used by `nodeGroups`. Required by the constructor so it can validate
   * synchronously; {@link SociCluster.create} looks them up.
   */
  instanceFacts: Record<string, InstanceFacts>;
  /** Use this VPC instead of creating one (requires `existingSubnetIds`). */
  existingVpcId?: string;
  /** Use these subnets (two or more, in two AZs, with egress) for the cluster and its nodes instead of creating a VPC. */
  existingSubnetIds?: string[];
  /** Tags for every resource soci-eks creates. */
  tags?: Record<string, string>;
  /**
   * The API server's private endpoint, reachable from inside the VPC (nodes use it). Default true. Turning it off
   * needs `endpointPublicAccessCidrs` that include the nodes' NAT gateway addresses.
   */
  endpointPrivateAccess?: boolean;
  /**
   * The networks that may reach the API server's public endpoint. Default `[]`: the public endpoint is off, so
   * kubectl, and any Kubernetes resource a Pulumi program manages in this cluster (e.g. a SociIndexBuilder), must
   * reach the private endpoint from inside the VPC (a bastion, VPN or Direct Connect). Give your own address
   * (`["203.0.113.7/32"]`) to run them from outside; `["0.0.0.0/0"]` opens the endpoint to the internet and must be
   * stated (a warning says so). IPv4 blocks, at most 40 (EKS's quota).
   */
  endpointPublicAccessCidrs?: string[];
  /**
   * Control-plane logs sent to CloudWatch Logs (`/aws/eks/<cluster>/cluster`). Default `["api", "audit",
   * "authenticator"]`; also `controllerManager`, `scheduler`; `[]` turns them off. CloudWatch charges for ingestion
   * and storage, and the log group EKS creates keeps logs forever until you set a retention.
   */
  controlPlaneLogs?: ControlPlaneLogType[];
  /**
   * A KMS key ARN (symmetric, in the cluster's region) that envelope-encrypts Kubernetes secrets. Default: unset,
   * EKS's own AWS-owned key (EKS encrypts all API data since Kubernetes 1.28). Cannot be removed once set.
   */
  secretsKmsKeyArn?: string;
  /**
   * NAT gateways of the VPC soci-eks creates: `one-per-az` (default; two NAT gateways, each AZ keeps its egress when
   * the other fails) or `single` (one, half the NAT cost). Refused with `existingSubnetIds`.
   */
  natGateways?: NatGatewayLayout;
  /**
   * Whose AWS credentials the VPC CNI (`aws-node`) uses. `pod-identity` (default): its own IAM role with
   * AmazonEKS_CNI_Policy through EKS Pod Identity (the cluster's `eks-pod-identity-agent` add-on and a Pod Identity
   * association for `kube-system/aws-node`); node roles do not carry the policy. `node-role`: AmazonEKS_CNI_Policy on
   * every node role soci-eks creates, as before.
   */
  vpcCniCredentials?: VpcCniCredentials;
}

/** {@link SociClusterArgs} for {@link SociCluster.create}, which looks up the instance facts itself. */
export type SociClusterCreateArgs = Omit<SociClusterArgs, "instanceFacts"> & { instanceFacts?: Record<string, InstanceFacts> };

/** Settings of {@link SociClusterArgs} that are validated (everything but the looked-up facts and the catalog). */
type ValidatedClusterArgs = Omit<SociClusterArgs, "instanceFacts" | "kubernetesVersionCatalog">;

/** How settings are named in messages: per cluster key and per node group key. */
export interface SettingNaming {
  cluster: (key: "kubernetesVersion" | "existingVpcId" | "existingSubnetIds" | "nodeGroups" | "sociSha256" | keyof ClusterSecuritySettings) => string;
  group: (index: number, key: NodeGroupSettingKey | "name") => string;
  /** What the error names as having the problems; absent: "soci-eks configuration" (the stack config's). */
  subject?: string;
}

const GROUP_ARG_PATHS: Record<NodeGroupSettingKey | "name", string> = { name: "name", ...ARG_PATHS };

/** Names settings by their path in {@link SociClusterArgs}, e.g. `nodeGroups[1].soci.version`. */
export function argNaming(name: string): SettingNaming {
  return {
    cluster: (key) => (key === "sociSha256" ? `${name}.nodeGroups[].soci.sha256` : `${name}.${key}`),
    group: (i, key) => `${name}.nodeGroups[${i}].${GROUP_ARG_PATHS[key]}`,
  };
}

/** Validates a cluster's arguments and all its node groups in one pass. */
export function validateSociClusterArgs(
  args: ValidatedClusterArgs,
  facts: ReadonlyMap<string, InstanceFacts>,
  naming: SettingNaming,
  versions: KubernetesVersionCatalog,
  lookupErrors?: ReadonlyMap<string, string>,
): ValidationResult {
  const cluster: ClusterSettings = {
    kubernetesVersion: args.kubernetesVersion ?? DEFAULTS.kubernetesVersion,
    kubernetesVersionSetting: naming.cluster("kubernetesVersion"),
    existingVpcId: args.existingVpcId,
    existingSubnetIds: args.existingSubnetIds,
    existingVpcIdSetting: naming.cluster("existingVpcId"),
    existingSubnetIdsSetting: naming.cluster("existingSubnetIds"),
    nodeGroupsSetting: naming.cluster("nodeGroups"),
    sociSha256Setting: naming.cluster("sociSha256"),
  };
  const groups: NamedNodeGroupSettings[] = args.nodeGroups.map((g, i) => ({
    name: g.name,
    settings: nodeGroupSettings(g),
    settingName: (key) => naming.group(i, key),
    nameSetting: naming.group(i, "name"),
  }));
  const result = validateCluster(cluster, groups, facts, versions, lookupErrors);
  const security = validateClusterSecurity(clusterSecuritySettings(args), naming.cluster, {
    createsVpc: args.existingSubnetIds === undefined,
    natGatewaysGiven: args.natGateways !== undefined && args.natGateways !== CLUSTER_SECURITY_DEFAULTS.natGateways,
  });
  result.problems.push(...security.problems);
  result.warnings.push(...security.warnings);
  if (result.problems.length === 0) {
    // The user data must fit EC2's limit after EKS's merge; measured only once the settings it is rendered from are valid.
    groups.forEach((g) => {
      const options = bootstrapOptionsFor(g.settings, facts.get(g.settings.instanceType)!);
      result.problems.push(...nodeGroupSizeProblems(`the user data of node group '${g.name}'`, g.settings, options, g.settingName));
    });
  }
  return result;
}

/** The hardening settings of the args with their defaults applied. */
export function clusterSecuritySettings(args: Omit<ValidatedClusterArgs, "nodeGroups">): ClusterSecuritySettings {
  const d = CLUSTER_SECURITY_DEFAULTS;
  return {
    endpointPrivateAccess: args.endpointPrivateAccess ?? d.endpointPrivateAccess,
    endpointPublicAccessCidrs: args.endpointPublicAccessCidrs ?? [...d.endpointPublicAccessCidrs],
    controlPlaneLogs: args.controlPlaneLogs ?? [...d.controlPlaneLogs],
    ...(args.secretsKmsKeyArn !== undefined ? { secretsKmsKeyArn: args.secretsKmsKeyArn } : {}),
    natGateways: args.natGateways ?? d.natGateways,
    vpcCniCredentials: args.vpcCniCredentials ?? d.vpcCniCredentials,
  };
}

/** The trust policy of a role that EKS Pod Identity hands to pods (the `pods.eks.amazonaws.com` service principal). */
export const POD_IDENTITY_TRUST_POLICY = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
};

/** Namings chosen by {@link SociCluster.create} for the args object it passes to the constructor. */
const namingOf = new WeakMap<object, SettingNaming>();

/**
 * An EKS cluster whose managed node groups boot with SOCI: a new VPC (one NAT gateway per AZ by default) or existing
 * subnets, an `eks.Cluster` (API authentication mode, no default node group; private API endpoint only unless
 * `endpointPublicAccessCidrs` opens the public one; audit, api and authenticator logs; optional KMS key for secrets),
 * the `eks-pod-identity-agent` add-on, the VPC CNI's own IAM role through EKS Pod Identity, one {@link SociNodeGroup}
 * per entry of `nodeGroups`, and the CoreDNS add-on once nodes exist. All settings are validated before the first
 * resource is registered. docs/security.md lists each default and what it costs.
 */
export class SociCluster extends pulumi.ComponentResource {
  /** The EKS cluster name. */
  public readonly clusterName!: pulumi.Output<string>;
  /** The kubeconfig (secret). */
  public readonly kubeconfig!: pulumi.Output<string>;
  /** The EKS node group names, in `nodeGroups` order. */
  public readonly nodeGroupNames!: pulumi.Output<string[]>;
  /** The node groups, in `nodeGroups` order. */
  public readonly nodeGroups!: SociNodeGroup[];
  /** The underlying @pulumi/eks cluster. */
  public readonly cluster!: eks.Cluster;
  /** The CoreDNS managed add-on, created after the node groups. */
  public readonly corednsAddon!: aws.eks.Addon;
  /**
   * The `eks-pod-identity-agent` managed add-on (created before the node groups). Components that give a pod its own
   * IAM role through EKS Pod Identity (the VPC CNI here, SociIndexBuilder's builder Job) depend on it instead of
   * creating their own: a cluster can have the add-on only once.
   */
  public readonly podIdentityAgentAddon!: aws.eks.Addon;
  /** The VPC CNI's own IAM role (`vpcCniCredentials: pod-identity`); undefined with `node-role`. */
  public readonly vpcCniRole?: aws.iam.Role;
  /** Whether the API server's private endpoint is on. */
  public readonly endpointPrivateAccess!: boolean;
  /**
   * The networks that may reach the public endpoint; empty when it is off. Kubernetes resources managed from a
   * machine outside the VPC need that machine's address here.
   */
  public readonly endpointPublicAccessCidrs!: string[];

  /**
   * Looks up instance facts for every node group (EC2 DescribeInstanceTypes) and EKS's Kubernetes versions
   * (DescribeClusterVersions), validates, then creates the cluster.
   * `naming` changes how messages name settings (the stack program names config keys).
   */
  static async create(name: string, args: SociClusterCreateArgs, opts?: pulumi.ComponentResourceOptions, naming?: SettingNaming): Promise<SociCluster> {
    const given = new Map(Object.entries(args.instanceFacts ?? {}));
    const types = args.nodeGroups.map((g) => g.instanceType ?? DEFAULTS.instanceType).filter((t) => !given.has(t));
    const invokeOpts = { parent: opts?.parent, provider: opts?.provider };
    const [lookup, versions] = await Promise.all([
      lookupInstanceFacts(types, invokeOpts),
      args.kubernetesVersionCatalog ? { catalog: args.kubernetesVersionCatalog, warnings: [] } : lookupKubernetesVersions(new Date(), invokeOpts),
    ]);
    for (const w of versions.warnings) pulumi.log.warn(w);
    const facts = new Map([...given, ...lookup.facts]);
    const result = validateSociClusterArgs(args, facts, naming ?? argNaming(name), versions.catalog, lookup.errors);
    throwIfProblems(result.problems, naming ? naming.subject : `SociCluster '${name}'`);
    const full: SociClusterArgs = { ...args, instanceFacts: Object.fromEntries(facts), kubernetesVersionCatalog: versions.catalog };
    if (naming) namingOf.set(full, naming);
    return new SociCluster(name, full, opts);
  }

  constructor(name: string, args: SociClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    // Validate everything before super(): a ComponentResource registers itself in its constructor.
    const naming = namingOf.get(args);
    const versions = args.kubernetesVersionCatalog ?? builtInVersionCatalog(new Date());
    const result = validateSociClusterArgs(args, new Map(Object.entries(args.instanceFacts)), naming ?? argNaming(name), versions);
    throwIfProblems(result.problems, naming ? naming.subject : `SociCluster '${name}'`);

    super("soci-eks:index:SociCluster", name, {}, opts);
    for (const w of result.warnings) pulumi.log.warn(w, this);

    const tags = args.tags ?? {};
    const security = clusterSecuritySettings(args);
    const network: ClusterNetwork = args.existingSubnetIds
      ? { vpcId: args.existingVpcId!, privateSubnetIds: args.existingSubnetIds, publicSubnetIds: [] }
      : createVpc(name, this, { tags, natGateways: security.natGateways as NatGatewayLayout });

    const publicCidrs = security.endpointPublicAccessCidrs;
    const clusterArgs: eks.ClusterArgs = {
      vpcId: network.vpcId,
      version: args.kubernetesVersion ?? DEFAULTS.kubernetesVersion,
      authenticationMode: eks.AuthenticationMode.Api,
      skipDefaultNodeGroup: true,
      // CoreDNS is a Deployment: created before any node exists it stays degraded and the addon create can time
      // out. It is created below, after the node groups (terraform-aws-eks does the same).
      corednsAddonOptions: { enabled: false },
      endpointPrivateAccess: security.endpointPrivateAccess,
      endpointPublicAccess: publicCidrs.length > 0,
      ...(publicCidrs.length > 0 ? { publicAccessCidrs: publicCidrs } : {}),
      enabledClusterLogTypes: security.controlPlaneLogs,
      ...(security.secretsKmsKeyArn ? { encryptionConfigKeyArn: security.secretsKmsKeyArn } : {}),
      tags,
      ...(args.existingSubnetIds
        ? { subnetIds: args.existingSubnetIds }
        : { privateSubnetIds: network.privateSubnetIds, publicSubnetIds: network.publicSubnetIds }),
    };
    const cluster = new eks.Cluster(`${name}-eks`, clusterArgs, { parent: this });
    const clusterName = cluster.eksCluster.apply((c) => c.name);

    // EKS Pod Identity: the agent (a host-network DaemonSet that exchanges a pod's token for its role's credentials,
    // with the node role's eks-auth:AssumeRoleForPodIdentity from AmazonEKSWorkerNodePolicy) runs on every node.
    const podIdentityAgent = new aws.eks.Addon(`${name}-pod-identity-agent`, {
      clusterName,
      addonName: "eks-pod-identity-agent",
      resolveConflictsOnCreate: "OVERWRITE",
      resolveConflictsOnUpdate: "PRESERVE",
      tags,
    }, { parent: this });
    const partition = aws.getPartitionOutput({}, { parent: this }).partition;
    // The VPC CNI (aws-node, installed by @pulumi/eks's vpc-cni add-on) gets its own role; the association exists
    // before any node, so every aws-node pod starts with it.
    const cniDeps: pulumi.Resource[] = [cluster, podIdentityAgent];
    let cniRole: aws.iam.Role | undefined;
    if (security.vpcCniCredentials === "pod-identity") {
      cniRole = new aws.iam.Role(`${name}-vpc-cni`, {
        assumeRolePolicy: JSON.stringify(POD_IDENTITY_TRUST_POLICY),
        description: `VPC CNI (kube-system/aws-node) of soci-eks cluster ${name}, through EKS Pod Identity`,
        tags,
      }, { parent: this });
      const attachment = new aws.iam.RolePolicyAttachment(`${name}-vpc-cni-policy`, {
        role: cniRole.name,
        policyArn: pulumi.interpolate`arn:${partition}:iam::aws:policy/${VPC_CNI_POLICY}`,
      }, { parent: this });
      const association = new aws.eks.PodIdentityAssociation(`${name}-vpc-cni`, {
        clusterName,
        namespace: "kube-system",
        serviceAccount: "aws-node",
        roleArn: cniRole.arn,
        tags,
      }, { parent: this, dependsOn: [attachment] });
      cniDeps.push(association);
    }

    const nodeGroups = args.nodeGroups.map((g) => {
      const { name: groupName, ...groupArgs } = g;
      const instanceType = g.instanceType ?? DEFAULTS.instanceType;
      return new SociNodeGroup(`${name}-${groupName}`, {
        ...groupArgs,
        tags: { ...tags, ...(g.tags ?? {}) },
        clusterName,
        subnetIds: network.privateSubnetIds,
        instanceFacts: args.instanceFacts[instanceType],
        vpcCniCredentials: security.vpcCniCredentials as VpcCniCredentials,
      }, { parent: this, dependsOn: cniDeps });
    });

    const coredns = new aws.eks.Addon(`${name}-coredns`, {
      clusterName,
      addonName: "coredns",
      resolveConflictsOnCreate: "OVERWRITE",
      resolveConflictsOnUpdate: "PRESERVE",
      tags,
    }, { parent: this, dependsOn: nodeGroups });

    this.podIdentityAgentAddon = podIdentityAgent;
    this.vpcCniRole = cniRole;
    this.endpointPrivateAccess = security.endpointPrivateAccess;
    this.endpointPublicAccessCidrs = publicCidrs;
    this.cluster = cluster;
    this.corednsAddon = coredns;
    this.clusterName = clusterName;
    this.kubeconfig = pulumi.secret(cluster.kubeconfigJson);
    this.nodeGroups = nodeGroups;
    this.nodeGroupNames = pulumi.all(nodeGroups.map((n) => n.nodeGroupName));
    this.registerOutputs({ clusterName: this.clusterName, kubeconfig: this.kubeconfig, nodeGroupNames: this.nodeGroupNames });
  }
}
