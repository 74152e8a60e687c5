/** Pulumi type tokens of the resources the unit tests look for in the mocks' records. */
export const EKS_CLUSTER = "eks:index:Cluster";
export const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
export const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
export const IAM_ROLE = "aws:iam/role:Role";
export const IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
export const IAM_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
export const NAT_GATEWAY = "aws:ec2/natGateway:NatGateway";
export const EKS_ADDON = "aws:eks/addon:Addon";
export const POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
export const K8S_JOB = "kubernetes:batch/v1:Job";
export const K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
export const K8S_NAMESPACE = "kubernetes:core/v1:Namespace";
export const K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";
