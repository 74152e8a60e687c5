/**
 * What @pulumi/eks 4.3.0 puts in the launch template of a node group it builds, computed by its own renderer
 * (test/consumers/pulumi-eks, vendored from the v4.3.0 tag) from the inputs the mocks recorded.
 */
import { createUserData, ClusterMetadata } from "../consumers/pulumi-eks/nodes/userdata";

/** The inputs of an `eks:index:ManagedNodeGroup` (as recorded) that reach its user data. */
export interface RecordedMngInputs {
  amiType?: string;
  operatingSystem?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  nodeadmExtraOptions?: { contentType: string; content: string }[];
  bottlerocketSettings?: object;
  kubeletExtraArgs?: string;
  bootstrapExtraArgs?: string;
}

/** `mapMngTaintEffect` of pulumi-eks v4.3.0 (nodejs/eks/nodes/nodegroup.ts): EKS API effect → Kubernetes effect. */
const K8S_EFFECT: Record<string, "NoSchedule" | "NoExecute" | "PreferNoSchedule"> = {
  NO_SCHEDULE: "NoSchedule",
  NO_EXECUTE: "NoExecute",
  PREFER_NO_SCHEDULE: "PreferNoSchedule",
};

/**
 * The OS @pulumi/eks picks for a managed node group: `getOperatingSystem(amiType, operatingSystem)` of
 * pulumi-eks v4.3.0 (nodejs/eks/nodes/ami.ts), for the AMI types soci-eks uses; the default OS is AL2023.
 */
export function eksOperatingSystem(inputs: { amiType?: string; operatingSystem?: string }): "AL2023" | "Bottlerocket" {
  if (!inputs.amiType) return (inputs.operatingSystem as "AL2023" | "Bottlerocket" | undefined) ?? "AL2023";
  if (inputs.amiType.startsWith("AL2023_")) return "AL2023";
  if (inputs.amiType.startsWith("BOTTLEROCKET_")) return "Bottlerocket";
  throw new Error(`AMI type ${inputs.amiType} is not one soci-eks uses`);
}

/**
 * The user data (before base64) of the launch template @pulumi/eks 4.3.0 creates for a managed node group with
 * these inputs: `createMNGCustomLaunchTemplate` (nodejs/eks/nodes/nodegroup.ts) maps the taints and calls
 * `createUserData(os, clusterMetadata, { nodeGroupType: "managed", ... })`, which is what runs here.
 */
export function eksManagedNodeGroupUserData(inputs: RecordedMngInputs, cluster: ClusterMetadata): string {
  const taints = inputs.taints
    ? Object.assign({}, ...inputs.taints.map((t) => ({ [t.key]: { value: t.value, effect: K8S_EFFECT[t.effect] } })))
    : undefined;
  return createUserData(
    eksOperatingSystem(inputs),
    cluster,
    {
      nodeGroupType: "managed",
      kubeletExtraArgs: inputs.kubeletExtraArgs,
      bootstrapExtraArgs: inputs.bootstrapExtraArgs,
      labels: inputs.labels,
      taints,
      // createUserData merges into this object; give it a copy, as the provider's deserialized inputs are its own.
      bottlerocketSettings: inputs.bottlerocketSettings ? JSON.parse(JSON.stringify(inputs.bottlerocketSettings)) : undefined,
      userDataOverride: undefined,
      nodeadmExtraOptions: inputs.nodeadmExtraOptions,
    },
    undefined,
  );
}

/** The inputs of an `eks:index:NodeGroupV2` (as recorded) that reach its user data. */
export interface RecordedV2Inputs {
  amiType?: string;
  operatingSystem?: string;
  labels?: Record<string, string>;
  taints?: Record<string, { value: string; effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule" }>;
  nodeadmExtraOptions?: { contentType: string; content: string }[];
  bottlerocketSettings?: object;
  nodeUserData?: string;
}

/**
 * The user data of the launch template @pulumi/eks 4.3.0 creates for a self-managed `NodeGroupV2` named `name`
 * (`createNodeGroupV2Internal`, nodejs/eks/nodes/nodegroup.ts): `createUserData(os, clusterMetadata,
 * { nodeGroupType: "self-managed-v2", stackName: name, ... })`.
 */
export function eksNodeGroupV2UserData(name: string, inputs: RecordedV2Inputs, cluster: ClusterMetadata): string {
  return createUserData(
    eksOperatingSystem(inputs),
    cluster,
    {
      nodeGroupType: "self-managed-v2",
      stackName: name,
      kubeletExtraArgs: undefined,
      bootstrapExtraArgs: undefined,
      labels: inputs.labels,
      taints: inputs.taints,
      bottlerocketSettings: inputs.bottlerocketSettings ? JSON.parse(JSON.stringify(inputs.bottlerocketSettings)) : undefined,
      userDataOverride: undefined,
      extraUserData: inputs.nodeUserData,
      nodeadmExtraOptions: inputs.nodeadmExtraOptions,
    },
    undefined,
  );
}

/**
 * The raw parts of a MIME multipart document: for each part, the bytes between its delimiter line and the line
 * break before the next delimiter (headers, blank line, body), as RFC 2046 delimits them.
 */
export function rawParts(text: string): string[] {
  const m = /boundary="([^"]+)"/.exec(text);
  if (!m) throw new Error("no multipart boundary");
  const delimiter = `\n--${m[1]}`;
  const pieces = text.split(delimiter);
  // pieces[0] is the preamble (the top-level headers); the last piece starts with "--" (the close delimiter).
  const last = pieces.pop()!;
  if (!last.startsWith("--")) throw new Error("no close delimiter");
  return pieces.slice(1).map((p) => {
    if (!p.startsWith("\n")) throw new Error("a delimiter line has trailing characters");
    return p.slice(1);
  });
}
