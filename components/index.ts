/**
 * soci-eks: Pulumi components for EKS clusters whose managed nodes boot with the SOCI snapshotter:
 * Amazon Linux 2023 (installed by launch-template user data) or Bottlerocket (its built-in SOCI, set up by TOML settings).
 */
export { SociCluster, SociClusterArgs, SociClusterCreateArgs, SociClusterNodeGroupArgs, SettingNaming, validateSociClusterArgs, POD_IDENTITY_TRUST_POLICY } from "./sociCluster";
export {
  CLUSTER_SECURITY_DEFAULTS,
  CONTROL_PLANE_LOG_TYPES,
  ControlPlaneLogType,
  NatGatewayLayout,
  VpcCniCredentials,
} from "../validation/clusterSecurity";
export {
  SociNodeGroup,
  SociNodeGroupArgs,
  SociNodeGroupCreateArgs,
  NODE_ROLE_POLICIES,
  VPC_CNI_POLICY,
  EC2_USER_DATA_LIMIT,
  NODE_ROLE_TRUST_POLICY,
  nodeGroupSettings,
} from "./sociNodeGroup";
export {
  sociForEks,
  lookupSociForEks,
  sociForEksSelfManaged,
  lookupSociForEksSelfManaged,
  SociForEks,
  SociForEksSelfManaged,
  SociForEksArgs,
  SociForEksLookupArgs,
  SociLaunchTemplateRef,
  SociManagedNodeGroupArgs,
  SociNodeGroupV2Args,
  NodeadmPart,
  BottlerocketSettingsDocument,
  NodeGroupV2Taint,
  LaunchTemplateTagSpecification,
} from "./eksPlugin";
export { sociLaunchTemplateArgs, SociLaunchTemplateInputs } from "./launchTemplate";
export { ClusterConnectionArgs, RootVolumeArgs, ScalingArgs, SociReleaseArgs } from "./types";
export { ClusterNetwork, createVpc } from "./vpc";
export { DEFAULTS, MODE_LABEL, STORAGE_LABEL, BOTTLEROCKET_OS_VOLUME_GIB } from "./defaults";
export { lookupInstanceFacts, InstanceFactsLookup } from "./instanceFacts";
export {
  CONFIG_NAMESPACE,
  StackConfig,
  StackNodeGroupConfig,
  loadStackConfig,
  clusterArgsFromStackConfig,
  deployStack,
  parseNodeGroups,
  STACK_CONFIG_KEYS,
  unknownConfigKeys,
} from "./config";
export { SociConfigError, ConfigProblem, formatProblem } from "../validation/problems";
export { MERGE_MARGIN, MERGER_PART_BYTES, UserDataMerger, userDataSizeProblems } from "../validation/userDataSize";
export {
  EKS_VERSION_CALENDAR,
  EKS_VERSION_CALENDAR_CHECKED,
  DEFAULT_KUBERNETES_VERSION,
  KubernetesVersionCatalog,
  EksVersionInfo,
  builtInVersionCatalog,
  eksVersionCatalog,
} from "../validation/kubernetesVersions";
export { lookupKubernetesVersions, KubernetesVersionLookup } from "./kubernetesVersionLookup";
export { InstanceFacts, NodeTaint, SociMode, SociFailurePolicy, Architecture, OsFamily } from "../userdata/types";
export {
  SociIndexBuilder,
  SociIndexBuilderArgs,
  SociIndexImage,
  SociIndexResult,
  PodIdentityAgent,
  SociPrefetchOptions,
  PrefetchFile,
  PrefetchRange,
  PrefetchRecording,
  PrefetchMode,
  INDEX_BUILDER_DEFAULTS,
} from "./sociIndexBuilder";
export { PullCheck, PullCheckArgs, PullCheckNodeGroup, PULL_CHECK_DEFAULT_IMAGES } from "./pullCheck";
