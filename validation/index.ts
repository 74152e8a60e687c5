/**
 * Validation of soci-eks settings: pure functions, one pass, run before any resource is created.
 * Every function returns all problems it finds; callers throw one {@link SociConfigError}.
 */
export * from "./problems";
export * from "./kubernetesVersions";
export * from "./instanceTypes";
export * from "./nodeGroup";
export * from "./cluster";
export * from "./closestName";
export * from "./mirrorTrust";
export * from "./releaseDigests";
export * from "./clusterConnection";
export * from "./karpenter";
export * from "./clusterSecurity";
export * from "./labels";
export * from "./settingNames";
export * from "./userDataSize";
