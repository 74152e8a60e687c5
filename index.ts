/**
 * Example stack: an EKS cluster whose managed node groups boot with SOCI, configured from the stack's
 * settings (Pulumi.yaml documents them; docs/config-reference.md lists them).
 *
 * The program looks up instance facts and validates every setting before it registers any resource;
 * a bad setting stops `pulumi preview` with one error that lists every problem.
 */
import { deployStack, loadStackConfig } from "./components";

export = async () => {
  const cluster = await deployStack("soci-eks", loadStackConfig());
  return {
    clusterName: cluster.clusterName,
    kubeconfig: cluster.kubeconfig,
    nodeGroupNames: cluster.nodeGroupNames,
  };
};
