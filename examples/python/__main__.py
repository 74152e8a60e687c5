"""An EKS cluster with two SOCI node groups, and one more node group for an existing cluster, from Python.

Every setting is checked before anything is created: a bad one (say soci_mode="eager", or os="bottlerocket" with the
default lazy mode) fails `pulumi preview` with one error naming the setting, the value and the fix.
"""
import pulumi
import pulumi_soci_eks as soci_eks

config = pulumi.Config()
# The sha256 of the soci-snapshotter release tarballs the AL2023 nodes install (no digest ships for the default
# 0.16.1): pulumi config set sociSha256 amd64=<hex>,arm64=<hex> (docs/security.md#release-pinning).
release = soci_eks.SociReleaseArgs(sha256=config.require("sociSha256"))

cluster = soci_eks.Cluster(
    "soci",
    kubernetes_version="1.35",
    node_groups=[
        # Amazon Linux 2023, SOCI installed by user data, lazy loading for images with a SOCI index.
        soci_eks.ClusterNodeGroupArgs(name="general", instance_type="m7i.xlarge", soci=release),
        # Bottlerocket's built-in SOCI: parallel pull and unpack (Bottlerocket has no lazy mode).
        soci_eks.ClusterNodeGroupArgs(
            name="arm",
            instance_type="m7g.xlarge",
            os="bottlerocket",
            soci_mode="parallel",
            scaling=soci_eks.ScalingArgs(desired_size=1, min_size=1, max_size=3),
            taints=[soci_eks.TaintArgs(key="arch", value="arm64", effect="NoSchedule")],
        ),
    ],
    tags={"team": "platform"},
)

pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("nodeGroupNames", cluster.node_group_names)
pulumi.export("kubeconfig", cluster.kubeconfig)

# A SOCI node group for a cluster that already exists (its name and private subnets from stack config).
existing = config.get("existingClusterName")
if existing:
    group = soci_eks.NodeGroup(
        "ssd",
        cluster_name=existing,
        subnet_ids=config.require_object("existingSubnetIds"),
        instance_type="m6id.2xlarge",
        ssd=True,
        root_volume=soci_eks.RootVolumeArgs(size_gib=200, throughput_mibps=500),
        on_soci_failure="fail",
        soci=release,
    )
    pulumi.export("ssdNodeGroupName", group.node_group_name)
