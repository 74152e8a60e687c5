import { Architecture, InstanceFacts, InstanceStorageFacts, OsFamily, SociMode } from "../userdata/types";

/**
 * The subset of EC2 DescribeInstanceTypes (via `aws.ec2.getInstanceType`) that soci-eks reads.
 * Field names are those of the Pulumi invoke result.
 */
export interface Ec2InstanceTypeResult {
  instanceType: string;
  defaultVcpus: number;
  /** MiB */
  memorySize: number;
  supportedArchitectures: string[];
  gpuses?: { count: number }[];
  instanceStorageSupported?: boolean;
  instanceDisks?: { count: number; size: number; type: string }[];
  /** GB */
  totalInstanceStorage?: number;
  /** Not returned by @pulumi/aws 7.x; read when present (EC2's InstanceStorageInfo.NvmeSupport). */
  nvmeSupport?: string;
}

/** An EC2 instance type name, `family.size`: `m7i.xlarge`, `m7i-flex.large`, `u-6tb1.metal`. */
export const INSTANCE_TYPE_NAME = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;

/**
 * Previous-generation Xen families whose instance store is not NVMe (SATA/SAS SSDs or HDDs).
 * Every Nitro type, and the Xen family i3, exposes instance store as NVMe (EC2 User Guide, "SSD instance store volumes").
 */
export const NON_NVME_INSTANCE_STORE_FAMILIES: readonly string[] = ["c1", "c3", "cc2", "cr1", "d2", "g2", "h1", "hs1", "i2", "m1", "m2", "m3", "r3", "x1", "x1e"];

/**
 * NVMe support of the instance store. EC2 reports it as InstanceStorageInfo.NvmeSupport, but the Pulumi
 * invoke (@pulumi/aws 7.x) does not return it; when absent it is derived from the family.
 */
export function nvmeSupportOf(result: Ec2InstanceTypeResult): InstanceStorageFacts["nvmeSupport"] {
  const reported = result.nvmeSupport;
  if (reported === "required" || reported === "supported" || reported === "unsupported") return reported;
  const family = result.instanceType.split(".")[0];
  return NON_NVME_INSTANCE_STORE_FAMILIES.includes(family) ? "unsupported" : "required";
}

/** Maps the EC2 invoke result to userdata's {@link InstanceFacts}. */
export function instanceFactsFromEc2(result: Ec2InstanceTypeResult): InstanceFacts {
  const facts: InstanceFacts = {
    instanceType: result.instanceType,
    vcpus: result.defaultVcpus,
    memoryMiB: result.memorySize,
    architectures: result.supportedArchitectures.filter((a): a is Architecture => a === "x86_64" || a === "arm64"),
    gpus: (result.gpuses ?? []).reduce((sum, g) => sum + g.count, 0),
  };
  const disks = result.instanceDisks ?? [];
  if (result.instanceStorageSupported && disks.length > 0) {
    facts.instanceStorage = {
      totalSizeGiB: result.totalInstanceStorage ?? disks.reduce((sum, d) => sum + d.count * d.size, 0),
      diskCount: disks.reduce((sum, d) => sum + d.count, 0),
      nvmeSupport: nvmeSupportOf(result),
    };
  }
  return facts;
}

/** The AMI architecture for a type: x86_64 when it runs it, else arm64; undefined when it runs neither. */
export function nodeArchitecture(facts: InstanceFacts): Architecture | undefined {
  if (facts.architectures.includes("x86_64")) return "x86_64";
  if (facts.architectures.includes("arm64")) return "arm64";
  return undefined;
}

/**
 * The EKS managed node group AMI type for an OS family, architecture and GPU count
 * (EKS API `Nodegroup.amiType`): `AL2023_<arch>_STANDARD|NVIDIA` or `BOTTLEROCKET_<arch>[_NVIDIA]`.
 */
export function amiTypeFor(architecture: Architecture, gpus: number, os: OsFamily = "al2023"): string {
  const arch = architecture === "arm64" ? "ARM_64" : "x86_64";
  if (os === "bottlerocket") return gpus > 0 ? `BOTTLEROCKET_${arch}_NVIDIA` : `BOTTLEROCKET_${arch}`;
  return gpus > 0 ? `AL2023_${arch}_NVIDIA` : `AL2023_${arch}_STANDARD`;
}

/**
 * The smallest node soci-eks installs SOCI on. SOCI's daemon (a Go process holding FUSE mounts and
 * span caches in lazy mode) and parallel pull (several HTTP range downloads plus unpigz unpacks per image)
 * need CPU and memory on top of kubelet, containerd and the VPC CNI. Below 2 vCPU / 4 GiB, the reservations
 * EKS makes for kubelet leave too little for pods and the pull together. (The AMI's own FastImagePull is
 * stricter and silently stays off below 4 vCPU / 7 GiB.) `off` has no minimum.
 */
export const SOCI_MIN_VCPUS = 2;
export const SOCI_MIN_MEMORY_MIB = 4096;

/** Whether a type has instance storage that nodeadm can build a RAID0 array from. */
export function hasNvmeInstanceStore(facts: InstanceFacts): boolean {
  const s = facts.instanceStorage;
  return !!s && s.diskCount > 0 && s.nvmeSupport !== "unsupported";
}

/**
 * Families without instance storage, mapped to the nearest families with local NVMe SSDs: the same family
 * with `d` when AWS offers it, otherwise the closest generation, same architecture first.
 */
export const NVME_FAMILY_SUGGESTIONS: Readonly<Record<string, readonly string[]>> = {
  m5: ["m5d"], m5a: ["m5ad"], m5n: ["m5dn"], m6i: ["m6id"], m6in: ["m6idn"], m6a: ["m6id", "m6gd"],
  m7i: ["m6id", "m7gd"], "m7i-flex": ["m6id", "m7gd"], m7a: ["m6id", "m7gd"], m6g: ["m6gd"], m7g: ["m7gd"], m8g: ["m8gd"],
  c5: ["c5d"], c5a: ["c5ad"], c5n: ["c5d"], c6i: ["c6id"], c6in: ["c6id"], c6a: ["c6id", "c6gd"],
  c7i: ["c6id", "c7gd"], "c7i-flex": ["c6id", "c7gd"], c7a: ["c6id", "c7gd"], c6g: ["c6gd"], c7g: ["c7gd"], c8g: ["c8gd"],
  r5: ["r5d"], r5a: ["r5ad"], r5n: ["r5dn"], r6i: ["r6id"], r6in: ["r6idn"], r6a: ["r6id", "r6gd"],
  r7i: ["r6id", "r7gd"], r7a: ["r6id", "r7gd"], r6g: ["r6gd"], r7g: ["r7gd"], r8g: ["r8gd"],
  t3: ["m6id", "m7gd"], t3a: ["m6id", "m7gd"], t4g: ["m7gd", "m6id"],
};

/** Suggested types with NVMe instance storage for a type without it, e.g. `m7i.2xlarge` → `m6id.2xlarge`, `m7gd.2xlarge`. */
export function nvmeSuggestions(instanceType: string): string[] {
  const [family, size] = instanceType.split(".");
  if (!family || !size) return [];
  const known = NVME_FAMILY_SUGGESTIONS[family]?.filter((f) => f !== family);
  // The general rule: local-NVMe variants add `d` to the family's attributes (m6i → m6id, m7g → m7gd).
  const families = known && known.length > 0 ? known : /d/.test(family.slice(2)) ? [] : [`${family}d`];
  // Burstable sizes (nano..medium) have no counterpart in the d families; start at large.
  const mapped = ["nano", "micro", "small", "medium"].includes(size) ? "large" : size;
  return families.map((f) => `${f}.${mapped}`);
}

/** Whether a mode needs SOCI on the node. */
export function installsSoci(mode: SociMode): boolean {
  return mode !== "off";
}
