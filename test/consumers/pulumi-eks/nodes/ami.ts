// The part of pulumi/pulumi-eks v4.3.0 nodejs/eks/nodes/ami.ts that userdata.ts uses (Apache-2.0, see ../LICENSE).
export const OperatingSystem = {
  AL2: "AL2",
  AL2023: "AL2023",
  Bottlerocket: "Bottlerocket",
} as const;
export type OperatingSystem = (typeof OperatingSystem)[keyof typeof OperatingSystem];
