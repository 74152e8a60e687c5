/**
 * The builder's own AWS identity, through EKS Pod Identity: an IAM role that only the EKS Pod Identity service can
 * assume, allowed to pull the source repositories and push the destination repositories and nothing else; the
 * Kubernetes service account the Jobs run as; the association between them; and, unless the cluster has it, the
 * `eks-pod-identity-agent` add-on. No node role gets any ECR push right.
 */
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { PodIdentityAgent } from "./args";
import { ResolvedSourceImage } from "./registry";

/** The EKS Pod Identity service principal, and the two actions its trust policy must allow. */
export const POD_IDENTITY_PRINCIPAL = "pods.eks.amazonaws.com";
export const POD_IDENTITY_AGENT_ADDON = "eks-pod-identity-agent";

/** ECR actions that read an image. */
export const ECR_PULL_ACTIONS = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"] as const;
/** ECR actions that write one (every action that can add, replace or delete an image or layer). */
export const ECR_PUSH_ACTIONS = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"] as const;

/** Trust policy: only EKS Pod Identity may assume the role (and tag the session, which it does). */
export function builderTrustPolicy(): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: POD_IDENTITY_PRINCIPAL }, Action: ["sts:AssumeRole", "sts:TagSession"] }],
  });
}

function repositoryArn(partition: string, region: string, registryId: string, repository: string): string {
  return `arn:${partition}:ecr:${region}:${registryId}:repository/${repository}`;
}

/** Pull on the source repositories, push on the destination repositories, the registry token; nothing else. */
export function builderPolicyDocument(sources: ResolvedSourceImage[], partition = "aws"): string {
  const pull = [...new Set(sources.map((s) => repositoryArn(partition, s.region, s.registryId, s.repository)))].sort();
  const push = [...new Set(sources.map((s) => repositoryArn(partition, s.region, s.registryId, s.destinationRepository)))].sort();
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
      { Sid: "SociSourcePull", Effect: "Allow", Action: [...ECR_PULL_ACTIONS], Resource: pull },
      { Sid: "SociIndexPush", Effect: "Allow", Action: [...ECR_PULL_ACTIONS, ...ECR_PUSH_ACTIONS], Resource: push },
    ],
  });
}

/** What {@link createBuilderIdentity} made; the Jobs depend on `ready`. */
export interface BuilderIdentity {
  role: aws.iam.Role;
  policy: aws.iam.RolePolicy;
  serviceAccount: k8s.core.v1.ServiceAccount;
  association: aws.eks.PodIdentityAssociation;
  /** The add-on, when the builder created it (no `podIdentityAgent` given). */
  agentAddon?: aws.eks.Addon;
  /** Everything a Job must wait for before its pod can get credentials. */
  ready: pulumi.Resource[];
}

export interface BuilderIdentityInputs {
  name: string;
  clusterName: pulumi.Input<string>;
  namespace: string;
  /** The namespace resource, when the builder creates it. */
  namespaceResource?: pulumi.Resource;
  serviceAccountName: string;
  podIdentityAgent?: PodIdentityAgent;
  sources: pulumi.Input<ResolvedSourceImage[]>;
  partition: string;
  labels: Record<string, string>;
  awsOpts: pulumi.CustomResourceOptions;
  k8sOpts: pulumi.CustomResourceOptions;
  /** Wraps a resource's dependencies so that it is registered only after the ECR checks passed. */
  after: (deps: pulumi.Resource[]) => pulumi.Input<pulumi.Input<pulumi.Resource>[]>;
}

/** Creates the role, its policy, the service account, the association and (if needed) the agent add-on. */
export function createBuilderIdentity(i: BuilderIdentityInputs): BuilderIdentity {
  const role = new aws.iam.Role(
    `${i.name}-role`,
    { assumeRolePolicy: builderTrustPolicy(), description: "soci-eks SociIndexBuilder: pulls source images and pushes their SOCI indexes (EKS Pod Identity)" },
    { ...i.awsOpts, dependsOn: i.after([]) },
  );
  const policy = new aws.iam.RolePolicy(
    `${i.name}-ecr`,
    { role: role.name, policy: pulumi.output(i.sources).apply((s) => builderPolicyDocument(s, i.partition)) },
    { ...i.awsOpts, dependsOn: i.after([]) },
  );
  const serviceAccount = new k8s.core.v1.ServiceAccount(
    `${i.name}-sa`,
    { metadata: { name: i.serviceAccountName, namespace: i.namespace, labels: i.labels }, automountServiceAccountToken: false },
    { ...i.k8sOpts, dependsOn: i.after(i.namespaceResource ? [i.namespaceResource] : []) },
  );
  let agentAddon: aws.eks.Addon | undefined;
  let agent: pulumi.Resource | undefined;
  if (i.podIdentityAgent === undefined) {
    agentAddon = new aws.eks.Addon(`${i.name}-pod-identity-agent`, { clusterName: i.clusterName, addonName: POD_IDENTITY_AGENT_ADDON }, { ...i.awsOpts, dependsOn: i.after([]) });
    agent = agentAddon;
  } else if (i.podIdentityAgent !== "installed") {
    agent = i.podIdentityAgent;
  }
  const association = new aws.eks.PodIdentityAssociation(
    `${i.name}-pod-identity`,
    { clusterName: i.clusterName, namespace: i.namespace, serviceAccount: i.serviceAccountName, roleArn: role.arn },
    { ...i.awsOpts, dependsOn: i.after(agent ? [agent] : []) },
  );
  return { role, policy, serviceAccount, association, agentAddon, ready: [policy, serviceAccount, association, ...(agent ? [agent] : [])] };
}
