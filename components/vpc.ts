import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { NatGatewayLayout } from "../validation/clusterSecurity";

/** The network a cluster runs in. */
export interface ClusterNetwork {
  vpcId: pulumi.Input<string>;
  /** Subnets for nodes (private when soci-eks created the VPC). */
  privateSubnetIds: pulumi.Input<string>[];
  /** Public subnets (internet-facing load balancers); empty for existing subnets. */
  publicSubnetIds: pulumi.Input<string>[];
}

/** Options of {@link createVpc}. */
export interface VpcOptions {
  /** Tags for every network resource. */
  tags?: Record<string, string>;
  /** `one-per-az` (default) or `single`; see {@link createVpc}. */
  natGateways?: NatGatewayLayout;
}

/**
 * A VPC (10.0.0.0/16) across the first two available AZs: per AZ a small public /24 (load balancers, NAT gateways)
 * and a large private /18 (nodes and, with the VPC CNI, every pod IP); one internet gateway. Private egress:
 * `one-per-az` (default) gives each AZ its own NAT gateway and private route table, so an AZ outage leaves the other
 * AZ's nodes their egress (registry, EKS and STS endpoints); `single` routes both private subnets through one NAT
 * gateway in the first AZ (half the NAT cost; nodes in the second AZ lose egress when the first AZ fails).
 * AZ 0's NAT gateway, its address and route table keep the names a single-NAT VPC had, so switching layouts adds
 * or removes only AZ 1's.
 * Subnets carry the `kubernetes.io/role/elb` / `internal-elb` tags the AWS Load Balancer Controller reads.
 */
export function createVpc(name: string, parent: pulumi.Resource, options: VpcOptions = {}): ClusterNetwork {
  const tags = options.tags ?? {};
  const opts = { parent };
  const azs = aws.getAvailabilityZonesOutput({ state: "available" }, opts).names;
  const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
    cidrBlock: "10.0.0.0/16",
    enableDnsHostnames: true,
    enableDnsSupport: true,
    tags: { ...tags, Name: `${name}-vpc` },
  }, opts);
  const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { ...tags, Name: `${name}-igw` } }, opts);
  const publicRt = new aws.ec2.RouteTable(`${name}-public-rt`, {
    vpcId: vpc.id,
    routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
    tags: { ...tags, Name: `${name}-public` },
  }, opts);

  const publicSubnets: aws.ec2.Subnet[] = [];
  const privateSubnets: aws.ec2.Subnet[] = [];
  for (let i = 0; i < 2; i++) {
    const az = azs.apply((names) => {
      if (names.length < 2) throw new Error(`the region has ${names.length} available AZs; EKS needs 2`);
      return names[i];
    });
    const pub = new aws.ec2.Subnet(`${name}-public-${i}`, {
      vpcId: vpc.id,
      availabilityZone: az,
      cidrBlock: `10.0.${i}.0/24`,
      mapPublicIpOnLaunch: true,
      tags: { ...tags, Name: `${name}-public-${i}`, "kubernetes.io/role/elb": "1" },
    }, opts);
    new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: pub.id, routeTableId: publicRt.id }, opts);
    publicSubnets.push(pub);
    privateSubnets.push(
      new aws.ec2.Subnet(`${name}-private-${i}`, {
        vpcId: vpc.id,
        availabilityZone: az,
        cidrBlock: `10.0.${64 * (i + 1)}.0/18`,
        tags: { ...tags, Name: `${name}-private-${i}`, "kubernetes.io/role/internal-elb": "1" },
      }, opts),
    );
  }
  const natCount = (options.natGateways ?? "one-per-az") === "single" ? 1 : 2;
  const suffix = (i: number) => (i === 0 ? "" : `-${i}`);
  const privateRts: aws.ec2.RouteTable[] = [];
  for (let i = 0; i < natCount; i++) {
    const eip = new aws.ec2.Eip(`${name}-nat-eip${suffix(i)}`, { domain: "vpc", tags: { ...tags, Name: `${name}-nat${suffix(i)}` } }, opts);
    const nat = new aws.ec2.NatGateway(`${name}-nat${suffix(i)}`, {
      allocationId: eip.id,
      subnetId: publicSubnets[i].id,
      tags: { ...tags, Name: `${name}-nat${suffix(i)}` },
    }, { parent, dependsOn: [igw] });
    privateRts.push(new aws.ec2.RouteTable(`${name}-private-rt${suffix(i)}`, {
      vpcId: vpc.id,
      routes: [{ cidrBlock: "0.0.0.0/0", natGatewayId: nat.id }],
      tags: { ...tags, Name: `${name}-private${suffix(i)}` },
    }, opts));
  }
  privateSubnets.forEach((s, i) =>
    new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: s.id, routeTableId: privateRts[Math.min(i, natCount - 1)].id }, opts),
  );

  return {
    vpcId: vpc.id,
    privateSubnetIds: privateSubnets.map((s) => s.id),
    publicSubnetIds: publicSubnets.map((s) => s.id),
  };
}
