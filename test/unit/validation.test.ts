import { strict as assert } from "assert";
import { describe, it } from "node:test";
import { KNOWN_RELEASE_DIGESTS, supportedOsFamilies } from "../../userdata";
import { InstanceFacts } from "../../userdata/types";
import {
  builtInVersionCatalog,
  checkKubernetesVersion,
  EksClusterVersionEntry,
  eksVersionCatalog,
  ClusterSettings,
  formatProblem,
  instanceFactsFromEc2,
  NamedNodeGroupSettings,
  NodeGroupSettings,
  nvmeSuggestions,
  OS_FAMILIES,
  SociConfigError,
  throwIfProblems,
  validateCluster,
  validateNodeGroup,
  Ec2InstanceTypeResult,
  releaseDigestProblems,
} from "../../validation";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { EKS_CLUSTER_VERSIONS, INSTANCE_TYPES } from "../helpers/mocks";
import { RunError } from "@pulumi/pulumi/errors";

const TODAY = new Date("2026-11-23T12:00:00Z");

function facts(type: string): InstanceFacts {
  return instanceFactsFromEc2({ instanceType: type, ...INSTANCE_TYPES[type] } as unknown as Ec2InstanceTypeResult);
}

function settings(overrides: Partial<NodeGroupSettings> = {}): NodeGroupSettings {
  return {
    instanceType: "m7i.xlarge",
    os: "al2023",
    sociMode: "lazy",
    sociVersion: "0.16.1",
    sociMirrorUrl: "https://github.com/awslabs/soci-snapshotter/releases/download",
    desiredSize: 2,
    minSize: 1,
    maxSize: 4,
    ssd: false,
    rootVolumeSizeGiB: 100,
    rootVolumeIops: 6000,
    rootVolumeThroughput: 600,
    extraEcrRegistries: [],
    // The default release's digests are not shipped: an AL2023 group gives them (test-only stand-ins).
    ...(overrides.os === "bottlerocket" || overrides.sociMode === "off" ? {} : { sociSha256: TEST_ONLY_SOCI_SHA256 }),
    ...overrides,
  };
}

const name = (key: string) => `soci-eks:${key}`;

/** The formatted problems for one node group. */
function problems(overrides: Partial<NodeGroupSettings> = {}): string[] {
  const s = settings(overrides);
  return validateNodeGroup(s, INSTANCE_TYPES[s.instanceType] ? facts(s.instanceType) : undefined, name).map(formatProblem);
}

describe("node group validation, one rule at a time", () => {
  it("accepts the defaults", () => {
    assert.deepEqual(problems(), []);
  });

  it("unknown sociMode", () => {
    assert.deepEqual(problems({ sociMode: "fast" }), [
      "soci-eks:sociMode: 'fast' is not one of lazy, parallel, off. Set soci-eks:sociMode to lazy (default), parallel or off.",
    ]);
  });

  it("sociVersion with a leading v", () => {
    assert.deepEqual(problems({ sociVersion: "v0.16.1" }), ["soci-eks:sociVersion: 'v0.16.1' has a leading v. Drop the v: set soci-eks:sociVersion to 0.16.1."]);
  });

  it("sociVersion that is not X.Y.Z", () => {
    assert.deepEqual(problems({ sociVersion: "0.16" }), [
      "soci-eks:sociVersion: '0.16' is not a release version X.Y.Z. Set soci-eks:sociVersion to a soci-snapshotter release such as 0.16.1, without a leading v.",
    ]);
    assert.equal(problems({ sociVersion: "latest" }).length, 1);
  });

  it("sociVersion older than MIN_SOCI_VERSION", () => {
    assert.deepEqual(problems({ sociVersion: "0.10.0" }), [
      "soci-eks:sociVersion: '0.10.0' is older than 0.11.0, the first release with parallel pull. Set soci-eks:sociVersion to 0.11.0 or newer.",
    ]);
    assert.deepEqual(problems({ sociVersion: "0.11.0" }), []);
  });

  it("release settings with SOCI off are refused as having no effect (not checked for their syntax: nothing installs them)", () => {
    assert.deepEqual(problems({ sociMode: "off", sociVersion: "v1", sociSha256: "x" }), [
      "soci-eks:sociVersion: 'v1' has no effect with sociMode off (it sets the SOCI release soci-eks installs; with off soci-eks installs nothing). Remove soci-eks:sociVersion, or set soci-eks:sociMode to lazy or parallel.",
      "soci-eks:sociSha256: 'x' has no effect with sociMode off (it sets the checksum of the SOCI release soci-eks installs; with off soci-eks installs nothing). Remove soci-eks:sociSha256, or set soci-eks:sociMode to lazy or parallel.",
    ]);
    assert.deepEqual(problems({ sociMode: "off", sociSha256: undefined }), [], "the release settings at their defaults");
  });

  it("sociSha256 that is not a digest nor amd64=<digest>,arm64=<digest>", () => {
    const [p] = problems({ sociSha256: "ABC" });
    assert.match(p, /^soci-eks:sociSha256: 'ABC' is not a sha256 digest \(64 lowercase hex characters\) nor amd64=<digest>,arm64=<digest>\. Set soci-eks:sociSha256 to the output of `sha256sum/);
    assert.equal(problems({ sociSha256: "A".repeat(64) }).length, 1);
    assert.deepEqual(problems({ sociSha256: "0123456789abcdef".repeat(4) }), []);
    const d = "0123456789abcdef".repeat(4);
    assert.match(problems({ sociSha256: `x86_64=${d}` })[0], /names 'x86_64', which is not a release architecture \(amd64, arm64\)/);
    assert.match(problems({ sociSha256: `amd64=${d},amd64=${d}` })[0], /names amd64 twice/);
    assert.match(problems({ sociSha256: `amd64=${d},arm64=abc` })[0], /gives arm64 'abc', which is not a sha256 digest/);
    assert.match(problems({ sociSha256: `amd64=${d},` })[0], /names '', which is not a release architecture/);
    assert.deepEqual(problems({ sociSha256: `arm64=${"1".repeat(64)},amd64=${d}` }), [], "either order");
    assert.deepEqual(problems({ sociSha256: `amd64=${d}` }), [], "an x86_64 group needs only the amd64 digest");
  });

  it("every architecture the nodes run on needs a digest, the user's or a shipped one (the installer trusts nothing from the mirror)", () => {
    assert.deepEqual(problems({ sociSha256: undefined }), [
      "soci-eks:sociSha256 is unset: no sha256 for soci-snapshotter-0.16.1-linux-amd64.tar.gz, and soci-eks ships none for 0.16.1: a node checks the tarball only against a digest in its user data, never against a checksum from the mirror. " +
        "Set soci-eks:sociSha256 to the sha256 of soci-snapshotter-0.16.1-linux-amd64.tar.gz (from the release page's .sha256sum files, checked against a second source; see docs/security.md, \"Release pinning\"), or set soci-eks:sociVersion to a version whose digests soci-eks ships (0.14.1, 0.14.0, 0.13.0).",
    ]);
    assert.match(problems({ sociSha256: `arm64=${"1".repeat(64)}` })[0], /^soci-eks:sociSha256: 'arm64=1{64}' gives no sha256 for soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz.* Set soci-eks:sociSha256 to amd64=<sha256 of soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz>/);
    assert.match(problems({ instanceType: "m7g.xlarge", sociSha256: undefined })[0], /no sha256 for soci-snapshotter-0\.16\.1-linux-arm64\.tar\.gz/);
    // A version whose digests ship needs none; the shipped ones go into the user data.
    for (const v of ["0.14.1", "0.14.0", "0.13.0"]) assert.deepEqual(problems({ sociVersion: v, sociSha256: undefined }), [], v);
    assert.deepEqual(problems({ sociVersion: "0.14.1", sociSha256: KNOWN_RELEASE_DIGESTS["0.14.1"].amd64 }), [], "the same digest as the shipped one");
    assert.deepEqual(problems({ sociVersion: "0.14.1", instanceType: "m7g.xlarge", sociSha256: `arm64=${KNOWN_RELEASE_DIGESTS["0.14.1"].arm64}` }), []);
    // SOCI off, or Bottlerocket (it ships SOCI): no release is installed, so no digest is needed.
    assert.deepEqual(problems({ sociMode: "off", sociSha256: undefined }), []);
    assert.deepEqual(problems({ os: "bottlerocket", sociMode: "parallel" }), []);
  });

  it("a digest that differs from the one shipped for the version is refused", () => {
    const wrong = "1".repeat(64);
    assert.deepEqual(problems({ sociVersion: "0.14.1", sociSha256: wrong }), [
      `soci-eks:sociSha256: '${wrong}' gives soci-snapshotter-0.14.1-linux-amd64.tar.gz the sha256 ${wrong}, but soci-eks ships ${KNOWN_RELEASE_DIGESTS["0.14.1"].amd64} for it (from ducminhle/rules_soci soci/versions.bzl, read 2026-12-07, not checked against GitHub); a node would refuse upstream's tarball, or install one that is not upstream's. ` +
        "Remove the amd64 digest from soci-eks:sociSha256 (the shipped one is used), or check which tarball your mirror serves against upstream's release.",
    ]);
    assert.equal(problems({ sociVersion: "0.14.1", sociSha256: `amd64=${KNOWN_RELEASE_DIGESTS["0.14.1"].amd64},arm64=${wrong}` }).length, 0, "an x86_64 group does not use the arm64 digest");
  });

  it("a document for both architectures (one for many instance types) needs both digests; one bare digest is refused", () => {
    const both = (sha?: string, sociVersion = "0.16.1") => releaseDigestProblems({ sociSha256: sha, sociVersion }, ["amd64", "arm64"], name).map(formatProblem);
    const d = "1".repeat(64);
    assert.deepEqual(both(d), [
      `soci-eks:sociSha256: '${d}' is one digest, but the document runs on amd64 and arm64 nodes, one tarball each. Set soci-eks:sociSha256 to amd64=<sha256 of soci-snapshotter-0.16.1-linux-amd64.tar.gz>,arm64=<sha256 of soci-snapshotter-0.16.1-linux-arm64.tar.gz>, or make the document for one architecture.`,
    ]);
    assert.match(both(`amd64=${d}`)[0], /gives no sha256 for soci-snapshotter-0\.16\.1-linux-arm64\.tar\.gz/);
    assert.match(both()[0], /no sha256 for soci-snapshotter-0\.16\.1-linux-amd64\.tar\.gz and soci-snapshotter-0\.16\.1-linux-arm64\.tar\.gz/);
    assert.deepEqual(both(`arm64=${d},amd64=${d}`), []);
    assert.deepEqual(both(undefined, "0.14.0"), []);
  });

  it("an http:// mirror gets no exception: without a digest it is refused like any other", () => {
    assert.match(problems({ sociMirrorUrl: "http://mirror.internal/soci", sociSha256: undefined })[0], /^soci-eks:sociSha256 is unset: no sha256/);
    assert.deepEqual(problems({ sociMirrorUrl: "http://mirror.internal/soci" }), []);
  });

  it("sociMirrorUrl that is not an http(s) URL of env-file-safe characters", () => {
    for (const bad of ["ftp://mirror/soci", "mirror.example.com/soci", "https://mirror.example.com/so ci", "https://m.example.com/$(reboot)", "https://m.example.com/x?token=1"]) {
      const [p, ...rest] = problems({ sociMirrorUrl: bad });
      assert.equal(rest.length, 0, bad);
      assert.ok(p.startsWith(`soci-eks:sociMirrorUrl: '${bad}' is not an http(s) base URL`), p);
      assert.match(p, /Set soci-eks:sociMirrorUrl to the base that holds v<version>\/soci-snapshotter-<version>-linux-<arch>\.tar\.gz/);
    }
    assert.deepEqual(problems({ sociMirrorUrl: "http://10.0.0.5:8080/soci" }), []);
  });

  it("negative or fractional sizes", () => {
    assert.deepEqual(problems({ minSize: -1 }), ["soci-eks:minSize: -1 is not a whole number of nodes ≥ 0. Set soci-eks:minSize to 0 or more."]);
    assert.deepEqual(problems({ desiredSize: 1.5 }), ["soci-eks:desiredSize: 1.5 is not a whole number of nodes ≥ 0. Set soci-eks:desiredSize to 0 or more."]);
  });

  it("maxSize 0", () => {
    assert.deepEqual(problems({ minSize: 0, desiredSize: 0, maxSize: 0 }), [
      "soci-eks:maxSize: 0 is 0; EKS requires at least 1. Set soci-eks:maxSize to 1 or more (scale to zero with minSize and desiredSize 0).",
    ]);
  });

  it("minSize greater than maxSize", () => {
    assert.deepEqual(problems({ minSize: 5, desiredSize: 5, maxSize: 4 }), [
      "soci-eks:minSize: 5 is greater than maxSize (4). Set soci-eks:minSize ≤ soci-eks:maxSize.",
    ]);
  });

  it("desiredSize outside [minSize, maxSize]", () => {
    assert.deepEqual(problems({ desiredSize: 9 }), ["soci-eks:desiredSize: 9 is outside [minSize, maxSize] = [1, 4]. Set soci-eks:desiredSize between 1 and 4."]);
    assert.equal(problems({ desiredSize: 0 }).length, 1);
  });

  it("instance type too small for SOCI; fine with SOCI off", () => {
    assert.deepEqual(problems({ instanceType: "t3.small" }), [
      "soci-eks:instanceType: 't3.small' has 2 vCPU and 2 GiB; SOCI lazy mode needs at least 2 vCPU and 4 GiB. Use a larger type (e.g. t3.medium, m7i.large or m7g.large), or set soci-eks:sociMode to off.",
    ]);
    assert.deepEqual(problems({ instanceType: "t3.small", sociMode: "off" }), []);
    assert.deepEqual(problems({ instanceType: "t3.medium", sociMode: "parallel" }), []);
  });

  it("ssd on a type without NVMe instance storage names the type and the nearest types that have it", () => {
    assert.deepEqual(problems({ instanceType: "m7i.xlarge", ssd: true }), [
      "soci-eks:instanceType: 'm7i.xlarge' has no NVMe instance storage, which ssd: true needs. Use a type with local NVMe SSDs, e.g. m6id.xlarge or m7gd.xlarge, or set soci-eks:ssd to false.",
    ]);
    assert.deepEqual(problems({ instanceType: "m7i.2xlarge", ssd: true }).length, 1);
    assert.match(problems({ instanceType: "m7i.2xlarge", ssd: true })[0], /e\.g\. m6id\.2xlarge or m7gd\.2xlarge/);
    assert.match(problems({ instanceType: "d2.xlarge", ssd: true })[0], /'d2\.xlarge' has instance storage, but not NVMe/);
    assert.deepEqual(problems({ instanceType: "m6id.2xlarge", ssd: true }), []);
    assert.deepEqual(problems({ instanceType: "c7gd.4xlarge", ssd: true }), []);
  });

  it("suggests NVMe types from the table or by adding d to the family", () => {
    assert.deepEqual(nvmeSuggestions("m7g.large"), ["m7gd.large"]);
    assert.deepEqual(nvmeSuggestions("m6i.xlarge"), ["m6id.xlarge"]);
    assert.deepEqual(nvmeSuggestions("t3.small"), ["m6id.large", "m7gd.large"]);
    assert.deepEqual(nvmeSuggestions("z9q.large"), ["z9qd.large"]);
  });

  it("root volume size outside 20..16384 GiB", () => {
    assert.deepEqual(problems({ rootVolumeSizeGiB: 10 }), [
      "soci-eks:rootVolumeSizeGiB: 10 is outside 20..16384 GiB. Set soci-eks:rootVolumeSizeGiB between 20 and 16384 (default 100).",
    ]);
    assert.equal(problems({ rootVolumeSizeGiB: 20000 }).length, 1);
  });

  it("gp3 IOPS outside 3000..16000", () => {
    assert.deepEqual(problems({ rootVolumeIops: 2000, rootVolumeThroughput: 125 }), [
      "soci-eks:rootVolumeIops: 2000 is outside gp3's 3000..16000 IOPS. Set soci-eks:rootVolumeIops between 3000 and 16000 (default 6000).",
    ]);
  });

  it("gp3 IOPS above 500 per GiB", () => {
    assert.deepEqual(problems({ rootVolumeSizeGiB: 20, rootVolumeIops: 12000 }), [
      "soci-eks:rootVolumeIops: 12000 exceeds gp3's 500 IOPS per GiB for 20 GiB (max 10000). Lower soci-eks:rootVolumeIops to 10000 or raise soci-eks:rootVolumeSizeGiB to 24.",
    ]);
  });

  it("gp3 throughput outside 125..1000 MiB/s", () => {
    assert.deepEqual(problems({ rootVolumeThroughput: 1200 }), [
      "soci-eks:rootVolumeThroughput: 1200 is outside gp3's 125..1000 MiB/s. Set soci-eks:rootVolumeThroughput between 125 and 1000 (default 600).",
    ]);
  });

  it("gp3 throughput above IOPS / 4", () => {
    assert.deepEqual(problems({ rootVolumeIops: 3000, rootVolumeThroughput: 1000 }), [
      "soci-eks:rootVolumeThroughput: 1000 exceeds gp3's 0.25 MiB/s per provisioned IOPS (3000 IOPS allow 750 MiB/s). Lower soci-eks:rootVolumeThroughput to 750 or raise soci-eks:rootVolumeIops to 4000.",
    ]);
  });

  it("instance type without x86_64 or arm64", () => {
    assert.deepEqual(problems({ instanceType: "mac1.metal" }), [
      "soci-eks:instanceType: 'mac1.metal' runs none of the EKS node architectures x86_64 or arm64 (it supports neither). Set soci-eks:instanceType to an x86_64 or arm64 type such as m7i.xlarge or m7g.xlarge.",
    ]);
  });

  it("instance type EC2 does not know", () => {
    const s = settings({ instanceType: "m99.huge" });
    assert.deepEqual(validateNodeGroup(s, undefined, name, "InvalidInstanceType: m99.huge").map(formatProblem), [
      "soci-eks:instanceType: 'm99.huge' was not found by EC2 DescribeInstanceTypes in this region (InvalidInstanceType: m99.huge). Set soci-eks:instanceType to an instance type offered in the stack's region, e.g. m7i.xlarge.",
    ]);
  });

  it("extra ECR registry hosts that are not <account>.dkr.ecr.<region>.amazonaws.com", () => {
    const ps = problems({
      extraEcrRegistries: ["123456789012.dkr.ecr.us-west-2.amazonaws.com", "https://123456789012.dkr.ecr.us-west-2.amazonaws.com", "12345.dkr.ecr.us-west-2.amazonaws.com", "ghcr.io"],
    });
    assert.equal(ps.length, 3);
    assert.equal(
      ps[0],
      "soci-eks:extraEcrRegistries: 'https://123456789012.dkr.ecr.us-west-2.amazonaws.com' is not an ECR registry host <12-digit account>.dkr.ecr.<region>.amazonaws.com. List bare hosts in soci-eks:extraEcrRegistries, e.g. 123456789012.dkr.ecr.us-west-2.amazonaws.com (no https://, no path).",
    );
    assert.deepEqual(problems({ extraEcrRegistries: ["123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn"] }), []);
  });

  it("capacity type, IMDS hop limit, labels and taints", () => {
    assert.deepEqual(problems({ capacityType: "RESERVED" }), ["soci-eks:capacityType: 'RESERVED' is not ON_DEMAND or SPOT. Set soci-eks:capacityType to ON_DEMAND (default) or SPOT."]);
    assert.deepEqual(problems({ metadataHopLimit: 0 }), ["soci-eks:metadataHopLimit: 0 is outside IMDS's 1..64. Set soci-eks:metadataHopLimit to 1 (default) or 2 if pods call IMDS."]);
    assert.match(problems({ labels: { "bad key!": "x" } })[0], /^soci-eks:labels: 'bad key!=x' is not a valid Kubernetes label: its key's name 'bad key!' is not 1-63 characters/);
    assert.match(problems({ labels: { "soci-eks/mode": "x" } })[0], /uses the soci-eks\/ prefix/);
    assert.equal(
      problems({ taints: [{ key: "k", effect: "Never" as never }] })[0],
      "soci-eks:taints: 'k:Never' is not a valid Kubernetes taint: its effect 'Never' is not one of NoSchedule, PreferNoSchedule, NoExecute. Give the taint the effect NoSchedule, PreferNoSchedule or NoExecute (Kubernetes' spelling, also for EKS).",
    );
    assert.deepEqual(problems({ labels: { "example.com/team": "a_b-c.d" }, taints: [{ key: "dedicated", value: "x", effect: "NoExecute" }] }), []);
  });

  it("keepSociOnRootVolume without ssd", () => {
    assert.deepEqual(problems({ keepSociOnRootVolume: true }), [
      "soci-eks:keepSociOnRootVolume: true has no effect without ssd (SOCI's data is on the root volume anyway). Set soci-eks:ssd to true, or unset soci-eks:keepSociOnRootVolume.",
    ]);
    assert.deepEqual(problems({ keepSociOnRootVolume: true, ssd: true, instanceType: "m6id.2xlarge" }), []);
  });

  it("unknown os", () => {
    assert.deepEqual(problems({ os: "ubuntu", sociMode: "parallel" }), [
      "soci-eks:os: 'ubuntu' is not one of al2023, bottlerocket. Set soci-eks:os to al2023 (default) or bottlerocket.",
    ]);
  });

  it("the OS families validation accepts are exactly those with a user-data renderer", () => {
    assert.deepEqual([...OS_FAMILIES].sort(), supportedOsFamilies().sort());
  });

  it("os bottlerocket with lazy (the default mode) names sociMode and the fix; parallel and off pass", () => {
    assert.deepEqual(problems({ os: "bottlerocket" }), [
      "soci-eks:sociMode: 'lazy' is not available on Bottlerocket (it has SOCI parallel pull only). Set soci-eks:sociMode to parallel or off (lazy is the default, so a Bottlerocket node group must set it), or set soci-eks:os to al2023.",
    ]);
    assert.deepEqual(problems({ os: "bottlerocket", sociMode: "parallel" }), []);
    assert.deepEqual(problems({ os: "bottlerocket", sociMode: "off" }), []);
    assert.deepEqual(problems({ os: "bottlerocket", sociMode: "parallel", ssd: true, keepSociOnRootVolume: true, instanceType: "m6id.2xlarge" }), []);
  });

  it("os bottlerocket: the AL2023-only settings (release, mirror, digest, failure policy) are refused, not ignored", () => {
    assert.deepEqual(problems({ os: "bottlerocket", sociMode: "parallel", sociVersion: "v0.16.1" }), [
      "soci-eks:sociVersion: 'v0.16.1' only applies to AL2023 nodes (the SOCI release soci-eks installs); Bottlerocket ships its own SOCI and would ignore it. Remove soci-eks:sociVersion, or set soci-eks:os to al2023.",
    ]);
    assert.equal(problems({ sociMode: "parallel", sociVersion: "v0.16.1" }).length, 1, "on AL2023 the release rule applies instead");
    const all = problems({ os: "bottlerocket", sociMode: "parallel", sociSha256: "ab".repeat(32), sociMirrorUrl: "https://mirror.example/soci", onSociFailure: "fail" });
    assert.deepEqual(all.map((p) => p.split(":")[1]), ["sociSha256", "sociMirrorUrl", "onSociFailure"]);
    // Defaults are not "given": a Bottlerocket group with the defaults passes.
    assert.deepEqual(problems({ os: "bottlerocket", sociMode: "parallel", onSociFailure: "fallback" }), []);
    // An entry point that knows what was given refuses even a default value given explicitly.
    assert.equal(problems({ os: "bottlerocket", sociMode: "parallel", explicit: new Set(["sociVersion"]) }).length, 1);
  });

  it("os bottlerocket: extraEcrRegistries would be silently unused, so it is an error naming the fix", () => {
    const host = "444455556666.dkr.ecr.eu-west-1.amazonaws.com";
    assert.deepEqual(problems({ os: "bottlerocket", sociMode: "parallel", extraEcrRegistries: [host] }), [
      `soci-eks:extraEcrRegistries: '${host}' only configures the ECR credential helper soci-eks installs on AL2023; ` +
        "Bottlerocket pulls from any ECR registry with the node role through kubelet's ECR credential provider. " +
        "Remove soci-eks:extraEcrRegistries from this group and allow the node role in those repositories' policies, or set soci-eks:os to al2023.",
    ]);
    assert.deepEqual(problems({ sociMode: "parallel", extraEcrRegistries: [host] }), []);
  });

  it("collects every problem in one pass", () => {
    const ps = problems({ sociMode: "fast", sociVersion: "v0.16.1", minSize: 9, rootVolumeIops: 100, instanceType: "t3.small", ssd: true });
    assert.deepEqual(
      ps.map((p) => p.split(":")[1].split(" ")[0]),
      ["sociMode", "sociVersion", "minSize", "rootVolumeIops", "instanceType", "instanceType"].map((k) => k),
    );
  });
});

describe("Kubernetes version validation: the built-in calendar, on a day the test passes in", () => {
  const check = (v: string, day = TODAY) => checkKubernetesVersion("soci-eks:kubernetesVersion", v, builtInVersionCatalog(day));

  it("standard support: no problem, no warning", () => {
    for (const v of ["1.34", "1.35", "1.36"]) assert.deepEqual(check(v), { problems: [], warnings: [] }, v);
  });

  it("extended support: a warning with the end date", () => {
    const r = check("1.32");
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.warnings, [
      "soci-eks:kubernetesVersion: Kubernetes 1.32 is in EKS extended support until 2027-03-23 (standard support ended 2026-03-23); extended support costs extra per cluster hour. Consider 1.36.",
    ]);
    assert.equal(check("1.31").warnings.length, 1, "1.31 extended support ends 2026-11-26");
  });

  it("past end of extended support: rejected; the day decides (1.31 on 2026-11-26 and on 2026-11-27)", () => {
    assert.deepEqual(check("1.30").problems.map(formatProblem), [
      "soci-eks:kubernetesVersion: '1.30' reached end of extended support on 2026-07-23; EKS no longer creates it. Set soci-eks:kubernetesVersion to one of 1.31, 1.32, 1.33, 1.34, 1.35, 1.36 (default 1.35).",
    ]);
    assert.equal(check("1.31", new Date("2026-11-26T23:59:59Z")).problems.length, 0);
    assert.equal(check("1.31", new Date("2026-11-27T00:00:00Z")).problems.length, 1);
  });

  it("a version newer than the table is a warning (EKS decides), an old unknown one a problem", () => {
    const newer = check("1.40");
    assert.deepEqual(newer.problems, []);
    assert.match(newer.warnings[0], /^soci-eks:kubernetesVersion: Kubernetes 1\.40 is newer than soci-eks's built-in EKS calendar \(checked 2026-11-23\)/);
    assert.match(formatProblem(check("1.22").problems[0]), /'1\.22' is not a version Amazon EKS offers \(per soci-eks's built-in calendar, checked 2026-11-23\)/);
  });

  it("malformed versions: rejected", () => {
    assert.match(formatProblem(check("v1.35").problems[0]), /'v1\.35' is not a Kubernetes minor version \(a minor version such as 1\.35: no leading v, no patch\)/);
    assert.match(formatProblem(check("1.35.2").problems[0]), /is not a Kubernetes minor version/);
    assert.match(formatProblem(check("latest").problems[0]), /'latest' is not a Kubernetes minor version\. Set/);
  });

  it("years ahead (2031-06-01) every known version has ended, and a newer one is still only a warning", () => {
    const later = new Date("2031-06-01T00:00:00Z");
    assert.match(formatProblem(check("1.36", later).problems[0]), /'1\.36' reached end of extended support on 2028-08-02/);
    assert.deepEqual(check("1.45", later).problems, []);
    assert.equal(check("1.45", later).warnings.length, 1);
  });
});

describe("Kubernetes version validation: EKS's own list (aws.eks.getClusterVersions)", () => {
  const catalog = eksVersionCatalog([
    ...(EKS_CLUSTER_VERSIONS as unknown as EksClusterVersionEntry[]),
    { clusterVersion: "1.37", versionStatus: "STANDARD_SUPPORT", endOfStandardSupportDate: "2027-12-01T00:00:00Z", endOfExtendedSupportDate: "2028-12-01T00:00:00Z" },
  ]);
  const check = (v: string) => checkKubernetesVersion("soci-eks:kubernetesVersion", v, catalog);

  it("a version newer than anything soci-eks knows is accepted when EKS lists it", () => {
    assert.deepEqual(check("1.37"), { problems: [], warnings: [] });
  });

  it("EKS's statuses decide: UNSUPPORTED refused with its date, EXTENDED_SUPPORT warned, unlisted refused", () => {
    assert.deepEqual(check("1.31").problems.map(formatProblem), [
      "soci-eks:kubernetesVersion: '1.31' reached end of extended support on 2026-11-26; EKS no longer creates it. Set soci-eks:kubernetesVersion to one of 1.32, 1.33, 1.34, 1.35, 1.36, 1.37 (default 1.35).",
    ]);
    assert.match(check("1.33").warnings[0], /Kubernetes 1\.33 is in EKS extended support until 2027-07-29 \(standard support ended 2026-07-29\).*Consider 1\.37\./);
    assert.match(formatProblem(check("1.38").problems[0]), /'1\.38' is not a version Amazon EKS lists \(aws\.eks\.getClusterVersions\)/);
  });

  it("a status soci-eks does not know counts as not creatable", () => {
    const odd = eksVersionCatalog([{ clusterVersion: "1.35", versionStatus: "PREVIEW" }]);
    assert.match(formatProblem(checkKubernetesVersion("k", "1.35", odd).problems[0]), /'1\.35' is no longer supported by EKS/);
  });
});

describe("cluster validation", () => {
  const all = new Map(Object.keys(INSTANCE_TYPES).map((t) => [t, facts(t)]));
  const cluster = (o: Partial<ClusterSettings> = {}): ClusterSettings => ({
    kubernetesVersion: "1.35",
    kubernetesVersionSetting: "soci-eks:kubernetesVersion",
    existingVpcIdSetting: "soci-eks:existingVpcId",
    existingSubnetIdsSetting: "soci-eks:existingSubnetIds",
    nodeGroupsSetting: "soci-eks:nodeGroups",
    sociSha256Setting: "soci-eks:sociSha256",
    ...o,
  });
  const group = (i: number, n: string, o: Partial<NodeGroupSettings> = {}): NamedNodeGroupSettings => ({
    name: n,
    settings: settings(o),
    settingName: (k) => `soci-eks:nodeGroups[${i}].${k}`,
    nameSetting: `soci-eks:nodeGroups[${i}].name`,
  });
  const run = (c: ClusterSettings, gs: NamedNodeGroupSettings[]) => validateCluster(c, gs, all, builtInVersionCatalog(TODAY)).problems.map(formatProblem);

  it("accepts two good groups", () => {
    assert.deepEqual(run(cluster(), [group(0, "general"), group(1, "big", { instanceType: "m6id.2xlarge", ssd: true })]), []);
  });

  it("names each group's problems by its index, and reports all groups at once", () => {
    assert.deepEqual(run(cluster({ kubernetesVersion: "1.29" }), [group(0, "a", { sociMode: "fast" }), group(1, "b", { maxSize: 0, minSize: 0, desiredSize: 0 })]), [
      "soci-eks:kubernetesVersion: '1.29' reached end of extended support on 2026-03-23; EKS no longer creates it. Set soci-eks:kubernetesVersion to one of 1.31, 1.32, 1.33, 1.34, 1.35, 1.36 (default 1.35).",
      "soci-eks:nodeGroups[0].sociMode: 'fast' is not one of lazy, parallel, off. Set soci-eks:nodeGroups[0].sociMode to lazy (default), parallel or off.",
      "soci-eks:nodeGroups[1].maxSize: 0 is 0; EKS requires at least 1. Set soci-eks:nodeGroups[1].maxSize to 1 or more (scale to zero with minSize and desiredSize 0).",
    ]);
  });

  it("duplicate and malformed node group names, and an empty list", () => {
    assert.deepEqual(run(cluster(), [group(0, "a"), group(1, "a"), group(2, "Big_Images")]), [
      "soci-eks:nodeGroups[1].name: 'a' is used by two node groups. Give each node group its own name.",
      "soci-eks:nodeGroups[2].name: 'Big_Images' is not a node group name (1-32 lowercase letters, digits, -). Rename it, e.g. general or big-images.",
    ]);
    assert.deepEqual(run(cluster(), []), [
      "soci-eks:nodeGroups: [] has no node groups. Remove soci-eks:nodeGroups to get one group from the top-level settings, or list at least one group.",
    ]);
  });

  it("one bare digest shared by SOCI groups of two architectures; the per-architecture form is fine", () => {
    const sha = "ab".repeat(32);
    assert.deepEqual(run(cluster(), [group(0, "x", { sociSha256: sha }), group(1, "a", { instanceType: "m7g.xlarge", sociSha256: sha })]), [
      `soci-eks:sociSha256: '${sha}' is one digest, but the node groups run amd64 and arm64 nodes, one tarball each. Set soci-eks:sociSha256 to amd64=<sha256 of the amd64 tarball>,arm64=<sha256 of the arm64 tarball>, or use one architecture.`,
    ]);
    assert.deepEqual(run(cluster(), [group(0, "x"), group(1, "a", { instanceType: "m7g.xlarge" })]), []);
    assert.deepEqual(run(cluster(), [group(0, "x", { sociSha256: sha }), group(1, "a", { instanceType: "m7g.xlarge", sociSha256: "cd".repeat(32) })]), [], "each group its own");
  });

  it("a pinned digest counts no Bottlerocket group (they install no tarball; a digest there is refused as AL2023-only)", () => {
    const sha = "ab".repeat(32);
    assert.deepEqual(run(cluster(), [group(0, "x", { sociSha256: sha }), group(1, "a", { instanceType: "m7g.xlarge", os: "bottlerocket", sociMode: "parallel" })]), []);
    assert.deepEqual(
      run(cluster(), [group(0, "x", { sociSha256: sha }), group(1, "a", { instanceType: "m7g.xlarge", os: "bottlerocket", sociMode: "parallel", sociSha256: sha })]).map((p) => p.split(":")[1]),
      ["nodeGroups[1].sociSha256"],
    );
  });

  it("existing subnets need a VPC ID, two well-formed subnet IDs", () => {
    assert.deepEqual(run(cluster({ existingSubnetIds: ["subnet-0123456789abcdef0", "sub-1"] }), [group(0, "a")]), [
      "soci-eks:existingSubnetIds: 'sub-1' is not a subnet ID. List IDs such as subnet-0123456789abcdef0.",
      "soci-eks:existingVpcId: (unset) must name the VPC of the existing subnets. Set soci-eks:existingVpcId to the subnets' VPC ID (vpc-...), or unset soci-eks:existingSubnetIds to create a VPC.",
    ]);
    assert.match(run(cluster({ existingVpcId: "vpc-0123456789abcdef0", existingSubnetIds: ["subnet-0123456789abcdef0"] }), [group(0, "a")])[0], /needs at least two subnets/);
  });
});

describe("instance facts and the error type", () => {
  it("maps EC2 facts: vCPU, memory, architectures, GPUs, NVMe instance storage", () => {
    assert.deepEqual(facts("m6id.2xlarge"), {
      instanceType: "m6id.2xlarge",
      vcpus: 8,
      memoryMiB: 32768,
      architectures: ["x86_64"],
      gpus: 0,
      instanceStorage: { totalSizeGiB: 474, diskCount: 1, nvmeSupport: "required" },
    });
    assert.equal(facts("g5.xlarge").gpus, 1);
    assert.equal(facts("m7i.xlarge").instanceStorage, undefined);
    assert.equal(facts("d2.xlarge").instanceStorage?.nvmeSupport, "unsupported");
    assert.deepEqual(facts("mac1.metal").architectures, []);
  });

  it("SociConfigError lists every problem once, one per line", () => {
    const p = { setting: "soci-eks:sociMode", value: "fast", reason: "is not one of lazy, parallel, off", fix: "Set soci-eks:sociMode to lazy (default), parallel or off." };
    assert.throws(
      () => throwIfProblems([p, p, { ...p, setting: "soci-eks:nodeGroups[1].sociMode" }]),
      (e: Error) => {
        assert.ok(e instanceof SociConfigError);
        assert.ok(RunError.isInstance(e), "the Pulumi CLI prints RunErrors without a stack trace");
        assert.equal(e.name, "SociConfigError");
        assert.equal(e.problems.length, 2);
        assert.equal(
          e.message,
          "soci-eks configuration has 2 problems; nothing was created:\n" +
            "  - soci-eks:sociMode: 'fast' is not one of lazy, parallel, off. Set soci-eks:sociMode to lazy (default), parallel or off.\n" +
            "  - soci-eks:nodeGroups[1].sociMode: 'fast' is not one of lazy, parallel, off. Set soci-eks:sociMode to lazy (default), parallel or off.",
        );
        return true;
      },
    );
    assert.doesNotThrow(() => throwIfProblems([]));
  });
});
