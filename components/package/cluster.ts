import * as pulumi from "@pulumi/pulumi";
import { argNaming, SettingNaming, SociCluster, SociClusterCreateArgs, SociClusterNodeGroupArgs } from "../sociCluster";
import { packageNamer } from "../../validation/settingNames";
import { ControlPlaneLogType, NatGatewayLayout, VpcCniCredentials } from "../../validation/clusterSecurity";
import { trackInitialization } from "./initialization";
import { NodeGroupOptions, toComponentArgs } from "./nodeGroup";

/** One node group of the package's `Cluster`: its settings and a name (the cluster provides its cluster, subnets and version). */
export interface ClusterNodeGroup extends NodeGroupOptions {
  /** Node group name: 1-32 lowercase letters, digits and `-`; unique in the cluster. */
  name: string;
}

/** Arguments of the package's `Cluster` (the TypeScript `SociCluster`'s, without `instanceFacts` and the version catalog: both are looked up). */
export interface ClusterArgs {
  /**
   * Kubernetes minor version, e.g. `1.35` (default). Checked against EKS's list of versions: a version EKS does
   * not list or no longer creates is rejected, one in extended support (extra cost) is a warning.
   */
  kubernetesVersion?: string;
  /** The node groups; at least one. */
  nodeGroups: ClusterNodeGroup[];
  /** Use this VPC instead of creating one (requires `existingSubnetIds`). */
  existingVpcId?: string;
  /** Use these subnets (two or more, in two AZs, with egress) for the cluster and its nodes instead of creating a VPC. */
  existingSubnetIds?: string[];
  /** Tags for every resource soci-eks creates. */
  tags?: Record<string, string>;
  /** The API server's private endpoint, reachable from inside the VPC (nodes use it). Default true. */
  endpointPrivateAccess?: boolean;
  /**
   * IPv4 networks that may reach the API server's public endpoint. Default none: the public endpoint is off, so
   * kubectl and Kubernetes resources must reach the private endpoint from inside the VPC. `0.0.0.0/0` opens it to
   * the internet (a warning says so).
   */
  endpointPublicAccessCidrs?: string[];
  /**
   * EKS control-plane logs sent to CloudWatch Logs: `api`, `audit`, `authenticator` (default), `controllerManager`,
   * `scheduler`; an empty list turns them off.
   */
  controlPlaneLogs?: string[];
  /** ARN of a symmetric KMS key that envelope-encrypts Kubernetes secrets. Default: EKS's own AWS-owned key. */
  secretsKmsKeyArn?: string;
  /** NAT gateways of the VPC soci-eks creates: `one-per-az` (default) or `single`. */
  natGateways?: string;
  /**
   * Whose credentials the VPC CNI uses: `pod-identity` (default; its own IAM role through EKS Pod Identity, node
   * roles without AmazonEKS_CNI_Policy) or `node-role`.
   */
  vpcCniCredentials?: string;
}

/** {@link SociCluster.create}'s arguments from the package's (string settings as they came; validation refuses bad ones). */
export function sociClusterArgs(args: ClusterArgs): SociClusterCreateArgs {
  const { controlPlaneLogs, natGateways, vpcCniCredentials, ...rest } = args;
  return {
    ...rest,
    // Handed on as they came: validation refuses any value outside the literal types before anything is created.
    ...(controlPlaneLogs !== undefined ? { controlPlaneLogs: controlPlaneLogs as ControlPlaneLogType[] } : {}),
    ...(natGateways !== undefined ? { natGateways: natGateways as NatGatewayLayout } : {}),
    ...(vpcCniCredentials !== undefined ? { vpcCniCredentials: vpcCniCredentials as VpcCniCredentials } : {}),
    nodeGroups: args.nodeGroups.map((group): SociClusterNodeGroupArgs => toComponentArgs(group)),
  };
}

/** Names settings as the package spells them: SociCluster's names, but for the node groups' Python-readable ones. */
export function packageNaming(name: string): SettingNaming {
  const ts = argNaming(name);
  return {
    cluster: ts.cluster,
    group: (i, key) => (key === "name" ? ts.group(i, key) : packageNamer(`${name}.nodeGroups[${i}]`)(key)),
    subject: `SociCluster '${name}'`,
  };
}

/**
 * An EKS cluster whose managed node groups boot with SOCI, for Pulumi programs in any language (schema token
 * `soci-eks:index:Cluster`): the TypeScript `SociCluster` (VPC or existing subnets, `eks.Cluster`, one SOCI node
 * group per entry of `nodeGroups`, CoreDNS) created as its child once every node group has been validated with the
 * instance facts and EKS's Kubernetes versions it looks up. A bad setting fails with the same one error as
 * `SociCluster.create`, and no child resource is registered.
 */
export class Cluster extends pulumi.ComponentResource<SociCluster> {
  /** The EKS cluster name. */
  public readonly clusterName: pulumi.Output<string>;
  /** The kubeconfig (secret). */
  public readonly kubeconfig: pulumi.Output<string>;
  /** The EKS node group names, in `nodeGroups` order. */
  public readonly nodeGroupNames: pulumi.Output<string[]>;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("soci-eks:index:Cluster", name, args, opts);
    // Outputs of the child SociCluster; when initialization fails they are never served (the provider fails Construct).
    const cluster = trackInitialization(this, this.getData());
    this.clusterName = pulumi.output(cluster.then((c) => c?.clusterName)) as pulumi.Output<string>;
    this.kubeconfig = pulumi.secret(pulumi.output(cluster.then((c) => c?.kubeconfig))) as pulumi.Output<string>;
    this.nodeGroupNames = pulumi.output(cluster.then((c) => c?.nodeGroupNames)) as pulumi.Output<string[]>;
  }

  /** Looks up the facts and versions, validates and creates the cluster. */
  protected async initialize(args: pulumi.Inputs, _opts?: pulumi.ComponentResourceOptions, name?: string): Promise<SociCluster> {
    return SociCluster.create(name!, sociClusterArgs(args as ClusterArgs), { parent: this }, packageNaming(name!));
  }
}
