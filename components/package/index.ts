/**
 * soci-eks as a Pulumi component package: the components other Pulumi languages (Python, Go, .NET, YAML) use,
 * with schema tokens `soci-eks:index:NodeGroup` and `soci-eks:index:Cluster`. TypeScript programs use
 * `SociNodeGroup` / `SociCluster` from the package root instead. The provider entry point is provider/index.ts.
 */
export { ClusterConnection, NodeGroup, NodeGroupArgs, NodeGroupOptions, RootVolume, Scaling, SociRelease, Taint, toComponentArgs, PACKAGE_RENAMES } from "./nodeGroup";
export { Cluster, ClusterArgs, ClusterNodeGroup, sociClusterArgs } from "./cluster";
export { PACKAGE_COMPONENTS, PACKAGE_NAME, SociEksProvider, schemaFile, serve } from "./provider";
