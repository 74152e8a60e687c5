import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { InstanceFacts } from "../userdata/types";
import { Ec2InstanceTypeResult, instanceFactsFromEc2 } from "../validation/instanceTypes";

/** Facts per instance type, and the EC2 error for each type that could not be looked up. */
export interface InstanceFactsLookup {
  facts: Map<string, InstanceFacts>;
  errors: Map<string, string>;
}

/**
 * Looks up instance facts with EC2 DescribeInstanceTypes (the `aws:ec2/getInstanceType` invoke), in the
 * promise form, so callers can validate before they register any resource.
 * Failed lookups are returned in `errors` (validation reports them with the rest).
 */
export async function lookupInstanceFacts(instanceTypes: string[], opts?: pulumi.InvokeOptions): Promise<InstanceFactsLookup> {
  const unique = [...new Set(instanceTypes)];
  const lookup: InstanceFactsLookup = { facts: new Map(), errors: new Map() };
  await Promise.all(
    unique.map(async (instanceType) => {
      try {
        const r = await aws.ec2.getInstanceType({ instanceType }, opts);
        lookup.facts.set(instanceType, instanceFactsFromEc2(r as Ec2InstanceTypeResult));
      } catch (e) {
        lookup.errors.set(instanceType, e instanceof Error ? e.message : String(e));
      }
    }),
  );
  return lookup;
}
