import { strict as assert } from "assert";
import { describe, it } from "node:test";
import { ClusterConnectionSettings, validateClusterConnection } from "../../validation/clusterConnection";
import { KarpenterNodeClassSettings, validateKarpenterNodeClass } from "../../validation/karpenter";

const name = (k: string) => k;
const conn = (c: ClusterConnectionSettings) => validateClusterConnection(c, name).map((p) => `${p.setting}=${String(p.value)}`);
const GOOD = { name: "prod", apiServerEndpoint: "https://ABCDEF0123456789ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com", certificateAuthority: "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t", serviceCidr: "172.20.0.0/16" };

describe("validation: cluster fields (as EKS, nodeadm and Bottlerocket check them)", () => {
  it("accepts what EKS hands out", () => {
    assert.deepEqual(conn(GOOD), []);
    for (const name of ["a", "my_cluster-2", "A".repeat(100), "0prod"]) assert.deepEqual(conn({ name }), [], name);
    for (const serviceCidr of ["10.100.0.0/16", "172.20.0.0/16", "192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/24", "fd12:3456:789a::/108"]) {
      assert.deepEqual(conn({ serviceCidr }), [], serviceCidr);
    }
    for (const apiServerEndpoint of ["https://ABC.yl4.us-east-1.eks.amazonaws.com", "https://10.0.0.1", "https://api.example.com:6443/"]) {
      assert.deepEqual(conn({ apiServerEndpoint }), [], apiServerEndpoint);
    }
    for (const certificateAuthority of ["Y2E=", "YWJj", "YQ=="]) assert.deepEqual(conn({ certificateAuthority }), [], certificateAuthority);
  });

  it("skips fields that are not given (Pulumi Outputs)", () => {
    assert.deepEqual(conn({}), []);
  });

  it("refuses what EKS, nodeadm or Bottlerocket would refuse", () => {
    const bad: [ClusterConnectionSettings, string][] = [
      [{ name: "" }, "name="],
      [{ name: "-prod" }, "name=-prod"],
      [{ name: "A".repeat(101) }, `name=${"A".repeat(101)}`],
      [{ name: "prod.cluster" }, "name=prod.cluster"],
      [{ apiServerEndpoint: "" }, "apiServerEndpoint="],
      [{ apiServerEndpoint: "http://x.eks.amazonaws.com" }, "apiServerEndpoint=http://x.eks.amazonaws.com"],
      [{ apiServerEndpoint: "https://x.eks.amazonaws.com/path" }, "apiServerEndpoint=https://x.eks.amazonaws.com/path"],
      // refused, and shown without the credentials
      [{ apiServerEndpoint: "https://user:pw@x.eks.amazonaws.com" }, "apiServerEndpoint=https://***@x.eks.amazonaws.com"],
      [{ certificateAuthority: "" }, "certificateAuthority="],
      [{ certificateAuthority: "Y2E" }, "certificateAuthority=Y2E"],
      [{ certificateAuthority: "Y2E=\n" }, "certificateAuthority=Y2E=\n"],
      [{ serviceCidr: "" }, "serviceCidr="],
      [{ serviceCidr: "10.100.0.0" }, "serviceCidr=10.100.0.0"],
      [{ serviceCidr: "10.0.0.0/8" }, "serviceCidr=10.0.0.0/8"],
      [{ serviceCidr: "10.0.0.0/25" }, "serviceCidr=10.0.0.0/25"],
      [{ serviceCidr: "172.32.0.0/16" }, "serviceCidr=172.32.0.0/16"],
      [{ serviceCidr: "192.168.0.0/15" }, "serviceCidr=192.168.0.0/15"],
      [{ serviceCidr: "fd00::/129" }, "serviceCidr=fd00::/129"],
    ];
    for (const [input, expected] of bad) assert.deepEqual(conn(input), [expected], JSON.stringify(input));
  });
});

const K: KarpenterNodeClassSettings = { os: "al2023", name: "soci-lazy", role: "KarpenterNodeRole-prod", discoveryTag: "prod", amiAlias: "al2023@latest", ssd: false };
const karp = (over: Partial<KarpenterNodeClassSettings>) => {
  const r = validateKarpenterNodeClass({ ...K, ...over }, name);
  return { problems: r.problems.map((p) => p.setting), warnings: r.warnings.length };
};

describe("validation: Karpenter EC2NodeClass settings", () => {
  it("accepts names, roles, profiles, tags and aliases Karpenter accepts", () => {
    const ok: Partial<KarpenterNodeClassSettings>[] = [
      {},
      { name: "a" },
      { name: "soci.lazy-1" },
      { name: "a".repeat(253) },
      { role: "KarpenterNodeRole+x=y,z.w@v_u-t" },
      { role: undefined, instanceProfile: "KarpenterNodeInstanceProfile-prod" },
      { discoveryTag: "prod cluster/eu:1" },
      { amiAlias: "al2023@v20260520" },
      { amiAlias: "al2023@v20260714" },
      { os: "bottlerocket", amiAlias: "bottlerocket@latest" },
      { os: "bottlerocket", amiAlias: "bottlerocket@v1.44.0" },
      { os: "bottlerocket", amiAlias: "bottlerocket@1.50.2" },
      { os: "bottlerocket", amiAlias: "bottlerocket@v1.46.0", ssd: true },
    ];
    for (const o of ok) assert.deepEqual(karp(o), { problems: [], warnings: 0 }, JSON.stringify(o));
  });

  it("warns, without refusing, when a pinned Bottlerocket below 1.46 keeps SOCI on EBS with ssd", () => {
    assert.deepEqual(karp({ os: "bottlerocket", amiAlias: "bottlerocket@v1.45.1", ssd: true }), { problems: [], warnings: 1 });
    assert.deepEqual(karp({ os: "bottlerocket", amiAlias: "bottlerocket@v1.45.1", ssd: false }), { problems: [], warnings: 0 });
  });

  it("refuses each bad setting, naming it", () => {
    const bad: [Partial<KarpenterNodeClassSettings>, string[]][] = [
      [{ name: "" }, ["name"]],
      [{ name: "SOCI_Lazy" }, ["name"]],
      [{ name: "a".repeat(254) }, ["name"]],
      [{ name: "-soci" }, ["name"]],
      [{ name: "soci." }, ["name"]],
      [{ role: undefined }, ["role"]],
      [{ role: "" }, ["role"]],
      [{ role: "arn:aws:iam::123456789012:role/KarpenterNodeRole" }, ["role"]],
      [{ role: "r".repeat(65) }, ["role"]],
      [{ instanceProfile: "p" }, ["instanceProfile"]],
      [{ role: undefined, instanceProfile: "" }, ["instanceProfile"]],
      [{ discoveryTag: undefined }, ["discoveryTag"]],
      [{ discoveryTag: "  " }, ["discoveryTag"]],
      [{ discoveryTag: "a".repeat(257) }, ["discoveryTag"]],
      [{ amiAlias: "al2023" }, ["amiAlias"]],
      [{ amiAlias: "bottlerocket@latest" }, ["amiAlias"]],
      [{ amiAlias: "al2023@20251117" }, ["amiAlias"]],
      [{ amiAlias: `al2023@v${"1".repeat(30)}` }, ["amiAlias"]],
      [{ amiAlias: "al2023@v20251117" }, ["amiAlias"]],
      [{ amiAlias: "al2023@v20260512" }, ["amiAlias"]],
      [{ os: "bottlerocket", amiAlias: "bottlerocket@v1.43.9" }, ["amiAlias"]],
      [{ os: "bottlerocket", amiAlias: "bottlerocket@1.20.0" }, ["amiAlias"]],
      [{ os: "bottlerocket", amiAlias: "bottlerocket@v1.44" }, ["amiAlias"]],
    ];
    for (const [o, settings] of bad) assert.deepEqual(karp(o).problems, settings, JSON.stringify(o));
  });
});
