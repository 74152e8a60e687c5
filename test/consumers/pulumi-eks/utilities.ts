// The function of pulumi/pulumi-eks v4.3.0 nodejs/eks/utilities.ts that nodes/userdata.ts uses (Apache-2.0, see LICENSE).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function isObject(obj: any): obj is Record<string, any> {
  return obj !== null && typeof obj === "object" && !Array.isArray(obj);
}
