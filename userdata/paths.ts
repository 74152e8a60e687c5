/**
 * Well-known paths on an AL2023 EKS node. One place, so a grep finds every use.
 * Sources: awslabs/soci-snapshotter config defaults and the amazon-eks-ami nodeadm code
 * (see shared/research/soci-details.md §2 and eks-bootstrap.md §2).
 */
export const SOCI_SOCKET = "/run/soci-snapshotter-grpc/soci-snapshotter-grpc.sock";
export const SOCI_ROOT = "/var/lib/soci-snapshotter-grpc";
/**
 * Our SOCI daemon config. Not SOCI's default /etc/soci-snapshotter-grpc/config.toml: nodeadm's
 * featureGates.FastImagePull rewrites that file with the AMI's parallel-pull config whenever its config
 * phase runs again (any file in /etc/eks/nodeadm.d/), which would silently replace ours (lab/FINDINGS.md).
 * Our unit passes this path with --config.
 */
export const SOCI_CONFIG = "/etc/soci-eks/soci-snapshotter-grpc.toml";
/** SOCI's Prometheus metrics, on a unix socket (no TCP port to collide with host-network pods). */
export const SOCI_METRICS_SOCKET = "/run/soci-snapshotter-grpc/metrics.sock";
export const SOCI_BIN_DIR = "/usr/local/bin";
export const CONTAINERD_SOCKET = "/run/containerd/containerd.sock";
/** The image-service endpoint kubelet uses so that SOCI sees pull credentials. */
export const SOCI_IMAGE_SERVICE_ENDPOINT: string = `unix://${SOCI_SOCKET}`;
/** Our own files on the node. */
export const SOCI_EKS_ENV = "/etc/soci-eks/install.env";
export const SOCI_EKS_LIBEXEC = "/usr/local/libexec/soci-eks";
/**
 * The node's scripts, units and settings as one gzip-compressed tar archive (cloud-init writes it; the
 * installer checks it and unpacks it over `/`). Kept on the node for troubleshooting.
 */
export const NODE_FILES_BUNDLE = "/usr/local/libexec/soci-eks/node-files.gz";
/**
 * The nodeadm drop-in through which the installer points containerd and kubelet at SOCI (or applies
 * onSociFailure): a symlink to {@link SOCI_EKS_BOOT_STATE}, so what it says holds for one boot only.
 */
export const SOCI_EKS_NODEADM_DROPIN = "/etc/eks/nodeadm.d/90-soci-eks.yaml";
/** This boot's NodeConfig drop-in, written by the installer (tmpfs: gone at the next boot). */
export const SOCI_EKS_BOOT_STATE = "/run/soci-eks/nodeadm.yaml";
/** The SOCI wiring the installer copies to {@link SOCI_EKS_BOOT_STATE} once SOCI serves. */
export const SOCI_EKS_WIRING = "/usr/local/libexec/soci-eks/nodeadm-soci.yaml";
/** systemd units live in /etc so that they replace the AMI's units of the same name. */
export const SYSTEMD_DIR = "/etc/systemd/system";
/** Where root's Docker config lives: SOCI reads its credential helpers from there. */
export const ROOT_DOCKER_CONFIG = "/root/.docker/config.json";
/** The pause image the AMI cached at build time (only in overlayfs until imported). */
export const PAUSE_IMAGE_TAR = "/etc/eks/pause.tar";
export const PAUSE_IMAGE_REF = "localhost/kubernetes/pause:latest";
/** The verify-local-storage check's parameters (ssd node groups). */
export const SOCI_EKS_LOCAL_STORAGE_ENV = "/etc/soci-eks/local-storage.env";
/**
 * Where nodeadm's setup-local-disks mounts the RAID0 array (default `localStorage.mountPath`
 * /mnt/k8s-disks, array index 0), and the directories it bind-mounts onto it.
 */
export const INSTANCE_STORE_ARRAY_MOUNT = "/mnt/k8s-disks/0";
export const KUBELET_ROOT = "/var/lib/kubelet";
export const CONTAINERD_ROOT = "/var/lib/containerd";
export const POD_LOGS_DIR = "/var/log/pods";
