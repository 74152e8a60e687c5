/**
 * Every EC2NodeClass `soci-eks userdata --karpenter` prints is valid against Karpenter's own CRD
 * (karpenter-provider-aws v1.15.2, test/fixtures/karpenter): its openAPIV3Schema and its CEL rules.
 */
import { strict as assert } from "assert";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { createHash } from "crypto";
import { readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { main } from "../../cli/main";
import { CelRule, CelUse, SchemaNode, validateSchema } from "../helpers/crdSchema";
import { REPO_ROOT } from "../helpers/sociWiring";

const CRD_FILE = path.join(REPO_ROOT, "test/fixtures/karpenter/karpenter.k8s.aws_ec2nodeclasses.yaml");
const CRD_SHA256 = "6c7e7c1785149a3c512d625d2f99375e2731a2c8d80f88fe708464257a62e935";
const crdText = readFileSync(CRD_FILE, "utf8");
const crd = parseYaml(crdText) as { spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: SchemaNode } }[] } };
const v1 = crd.spec.versions.find((v) => v.name === "v1")!;
const SCHEMA = v1.schema.openAPIV3Schema;

/** A Kubernetes object name (apimachinery IsDNS1123Subdomain): the API server checks it for every object. */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const has = (o: any, k: string) => o !== null && typeof o === "object" && k in o;
const aliasFamily = (x: any) => (has(x, "alias") ? /^[^@]+/.exec(x.alias)?.[0] : undefined);
const amiFamilyRule = (family: string, amiFamily: string): CelRule => (s) =>
  !has(s, "amiFamily") || (s.amiSelectorTerms.some((x: any) => aliasFamily(x) === family) ? s.amiFamily === "Custom" || s.amiFamily === amiFamily : true);
const tagsRule: CelRule = (s) => Object.entries(s).every(([k, v]) => k !== "" && v !== "");

/** The CRD's CEL rules, translated; keyed by their exact text so a changed rule is noticed. */
const CEL: Record<string, CelRule> = {
  "(has(self.role) && !has(self.instanceProfile)) || (!has(self.role) && has(self.instanceProfile))": (s) => (has(s, "role") && !has(s, "instanceProfile")) || (!has(s, "role") && has(s, "instanceProfile")),
  "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'al2') ? (self.amiFamily == 'Custom' || self.amiFamily == 'AL2') : true)": amiFamilyRule("al2", "AL2"),
  "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'al2023') ? (self.amiFamily == 'Custom' || self.amiFamily == 'AL2023') : true)": amiFamilyRule("al2023", "AL2023"),
  "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'bottlerocket') ? (self.amiFamily == 'Custom' || self.amiFamily == 'Bottlerocket') : true)": amiFamilyRule("bottlerocket", "Bottlerocket"),
  "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'windows2019') ? (self.amiFamily == 'Custom' || self.amiFamily == 'Windows2019') : true)": amiFamilyRule("windows2019", "Windows2019"),
  "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'windows2022') ? (self.amiFamily == 'Custom' || self.amiFamily == 'Windows2022') : true)": amiFamilyRule("windows2022", "Windows2022"),
  "!has(self.amiFamily) || (self.amiSelectorTerms.exists(x, has(x.alias) && x.alias.find('^[^@]+') == 'windows2025') ? (self.amiFamily == 'Custom' || self.amiFamily == 'Windows2025') : true)": amiFamilyRule("windows2025", "Windows2025"),
  "self.amiSelectorTerms.exists(x, has(x.alias)) ? true : has(self.amiFamily)": (s) => (s.amiSelectorTerms.some((x: any) => has(x, "alias")) ? true : has(s, "amiFamily")),
  "self.all(x, has(x.tags) || has(x.id) || has(x.name) || has(x.alias) || has(x.ssmParameter))": (s) => s.every((x: any) => ["tags", "id", "name", "alias", "ssmParameter"].some((k) => has(x, k))),
  "!self.exists(x, has(x.id) && (has(x.alias) || has(x.tags) || has(x.name) || has(x.owner)))": (s) => !s.some((x: any) => has(x, "id") && ["alias", "tags", "name", "owner"].some((k) => has(x, k))),
  "!self.exists(x, has(x.alias) && (has(x.id) || has(x.tags) || has(x.name) || has(x.owner)))": (s) => !s.some((x: any) => has(x, "alias") && ["id", "tags", "name", "owner"].some((k) => has(x, k))),
  "!(self.exists(x, has(x.alias)) && self.size() != 1)": (s) => !(s.some((x: any) => has(x, "alias")) && s.length !== 1),
  "self.matches('^[a-zA-Z0-9]+@.+$')": (s) => /^[a-zA-Z0-9]+@.+$/.test(s),
  "self.split('@')[0] in ['al2','al2023','bottlerocket','windows2019','windows2022','windows2025']": (s) => ["al2", "al2023", "bottlerocket", "windows2019", "windows2022", "windows2025"].includes(s.split("@")[0]),
  "self.split('@')[0] in ['windows2019','windows2022','windows2025'] ? self.split('@')[1] == 'latest' : true": (s) => (["windows2019", "windows2022", "windows2025"].includes(s.split("@")[0]) ? s.split("@")[1] === "latest" : true),
  "self.all(k, k != '' && self[k] != '')": tagsRule,
  "self.filter(x, has(x.rootVolume)?x.rootVolume==true:false).size() <= 1": (s) => s.filter((x: any) => (has(x, "rootVolume") ? x.rootVolume === true : false)).length <= 1,
  "has(self.snapshotID) || has(self.volumeSize)": (s) => has(s, "snapshotID") || has(s, "volumeSize"),
  "!has(self.volumeInitializationRate) || (has(self.snapshotID) && self.snapshotID != '')": (s) => !has(s, "volumeInitializationRate") || (has(s, "snapshotID") && s.snapshotID !== ""),
  "self != ''": (s) => s !== "",
  "self.size() != 0": (s) => s.length !== 0,
  "self.all(x, has(x.tags) || has(x.id) || has(x.name))": (s) => s.every((x: any) => has(x, "tags") || has(x, "id") || has(x, "name")),
  "!self.all(x, has(x.id) && (has(x.tags) || has(x.name)))": (s) => !s.every((x: any) => has(x, "id") && (has(x, "tags") || has(x, "name"))),
  "!self.all(x, has(x.name) && (has(x.tags) || has(x.id)))": (s) => !s.every((x: any) => has(x, "name") && (has(x, "tags") || has(x, "id"))),
  "self.all(x, has(x.tags) || has(x.id))": (s) => s.every((x: any) => has(x, "tags") || has(x, "id")),
  "!self.all(x, has(x.id) && has(x.tags))": (s) => !s.every((x: any) => has(x, "id") && has(x, "tags")),
};

/** Validates an EC2NodeClass as the API server would on create: kind and version, name, schema and CEL. */
function validateNodeClass(obj: any, ran: CelUse[] = []): string[] {
  const errors: string[] = [];
  if (obj?.apiVersion !== `${crd.spec.group}/v1`) errors.push(`apiVersion ${obj?.apiVersion}`);
  if (obj?.kind !== crd.spec.names.kind) errors.push(`kind ${obj?.kind}`);
  const name = obj?.metadata?.name;
  if (typeof name !== "string" || name.length > 253 || !DNS1123_SUBDOMAIN.test(name)) errors.push(`metadata.name ${JSON.stringify(name)}`);
  // metadata is ObjectMeta, validated by the API server itself (the name check above); the schema covers the rest.
  const { metadata: _metadata, ...rest } = obj ?? {};
  errors.push(...validateSchema(rest, SCHEMA, CEL, ran));
  return errors;
}

/** Runs `soci-eks userdata`; an AL2023 document gets the (test-only) digests of both architectures. */
function print(args: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  // Bottlerocket and --mode off install no release, and refuse a digest
  const off = args.some((a, i) => a === "--mode" && args[i + 1] === "off");
  const pin = args.includes("bottlerocket") || off ? [] : ["--soci-sha256", TEST_ONLY_SOCI_SHA256];
  const code = main(["userdata", ...args, ...pin], (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

const ROLE = ["--role", "KarpenterNodeRole-prod", "--discovery-tag", "prod"];
/** Every shape of manifest the CLI prints: each OS and mode, each storage layout, role or instance profile, default or pinned alias, a dotted name. */
const PRINTED: string[][] = [
  ...["lazy", "parallel", "off"].flatMap((mode) => [
    ["--instance-type", "m7i.xlarge", "--mode", mode, "--karpenter", ...ROLE],
    ["--instance-type", "m6id.xlarge", "--mode", mode, "--ssd", "--karpenter", ...ROLE],
    ["--instance-type", "m6id.xlarge", "--mode", mode, "--ssd", "--keep-soci-on-root-volume", "--karpenter", ...ROLE],
  ]),
  ...["parallel", "off"].flatMap((mode) => [
    ["--instance-type", "m7g.xlarge", "--os", "bottlerocket", "--mode", mode, "--karpenter", ...ROLE],
    ["--instance-type", "m6id.xlarge", "--os", "bottlerocket", "--mode", mode, "--ssd", "--karpenter", ...ROLE],
  ]),
  ["--instance-type", "m7i.xlarge", "--karpenter", "--instance-profile", "KarpenterNodeInstanceProfile-prod", "--discovery-tag", "prod cluster"],
  ["--instance-type", "m7i.xlarge", "--karpenter", ...ROLE, "--ami-alias", "al2023@v20260714", "--node-class-name", "soci.lazy-1"],
  ["--instance-type", "m6id.xlarge", "--os", "bottlerocket", "--mode", "parallel", "--ssd", "--karpenter", ...ROLE, "--ami-alias", "bottlerocket@v1.46.0"],
  ["--instance-type", "m7i.xlarge", "--os", "bottlerocket", "--mode", "parallel", "--karpenter", ...ROLE, "--ami-alias", "bottlerocket@1.44.0"],
  ["--instance-type", "m7i.xlarge", "--karpenter", ...ROLE, "--label", "team=ml"],
];

describe("Karpenter's EC2NodeClass CRD (v1.15.2) accepts every manifest the CLI prints", () => {
  it("the fixture is Karpenter v1.15.2's CRD, byte for byte", () => {
    assert.equal(createHash("sha256").update(readFileSync(CRD_FILE)).digest("hex"), CRD_SHA256);
    assert.equal(crd.spec.group, "karpenter.k8s.aws");
    assert.equal(crd.spec.names.kind, "EC2NodeClass");
    assert.ok(v1.served);
  });

  for (const args of PRINTED) {
    it(args.filter((a) => a !== "--karpenter" && !ROLE.includes(a)).join(" "), () => {
      const r = print(args);
      assert.equal(r.code, 0, r.err);
      const ran: CelUse[] = [];
      assert.deepEqual(validateNodeClass(parseYaml(r.out), ran), []);
      assert.ok(ran.length >= 15, `only ${ran.length} CEL rules ran`);
    });
  }

  it("every CEL translation is a rule of the CRD (a changed rule is noticed)", () => {
    const inSchema = new Set<string>();
    (function walk(n: SchemaNode | undefined) {
      if (!n) return;
      for (const v of n["x-kubernetes-validations"] ?? []) inSchema.add(v.rule);
      Object.values(n.properties ?? {}).forEach(walk);
      walk(n.items);
      if (typeof n.additionalProperties === "object") walk(n.additionalProperties);
    })(SCHEMA);
    for (const rule of Object.keys(CEL)) assert.ok(inSchema.has(rule), `not in the CRD: ${rule}`);
  });

  const valid = () => parseYaml(print(["--instance-type", "m6id.xlarge", "--ssd", "--karpenter", ...ROLE]).out);
  const broken: [string, (o: any) => void, RegExp][] = [
    ["empty role", (o) => (o.spec.role = ""), /role cannot be empty/],
    ["role and instance profile", (o) => (o.spec.instanceProfile = "p"), /exactly one of \['role', 'instanceProfile'\]/],
    ["neither role nor instance profile", (o) => delete o.spec.role, /exactly one of/],
    ["empty discovery tag", (o) => (o.spec.subnetSelectorTerms[0].tags["karpenter.sh/discovery"] = ""), /empty tag keys or values/],
    ["no subnet selector", (o) => (o.spec.subnetSelectorTerms = []), /subnetSelectorTerms cannot be empty/],
    ["alias without a version", (o) => (o.spec.amiSelectorTerms[0].alias = "al2023"), /'alias' is improperly formatted/],
    ["alias of an unknown family", (o) => (o.spec.amiSelectorTerms[0].alias = "ubuntu@latest"), /family is not supported/],
    ["alias with another term", (o) => o.spec.amiSelectorTerms.push({ id: "ami-0123" }), /'alias' is mutually exclusive/],
    ["alias over 30 characters", (o) => (o.spec.amiSelectorTerms[0].alias = `bottlerocket@v${"1".repeat(20)}`), /longer than 30/],
    ["volume size in GB", (o) => (o.spec.blockDeviceMappings[0].ebs.volumeSize = "100GB"), /does not match/],
    ["unknown volume type", (o) => (o.spec.blockDeviceMappings[0].ebs.volumeType = "gp9"), /is not one of/],
    ["IMDSv1 allowed as a typo", (o) => (o.spec.metadataOptions.httpTokens = "requried"), /is not one of/],
    ["hop limit 0", (o) => (o.spec.metadataOptions.httpPutResponseHopLimit = 0), /below 1/],
    ["unknown field", (o) => (o.spec.userdata = "x"), /unknown field userdata/],
    ["instance store policy typo", (o) => (o.spec.instanceStorePolicy = "RAID5"), /is not one of/],
    ["upper-case name", (o) => (o.metadata.name = "SOCI_Lazy"), /metadata\.name/],
  ];
  for (const [what, mutate, expected] of broken) {
    it(`the validator refuses a manifest with ${what} (it can fail)`, () => {
      const o = valid();
      assert.deepEqual(validateNodeClass(o), []);
      mutate(o);
      const errors = validateNodeClass(o);
      assert.ok(errors.some((e) => expected.test(e)), errors.join("\n") || "no errors");
    });
  }

  it("the CEL rules on the fields we set all ran", () => {
    const all = new Set<string>();
    for (const args of PRINTED) {
      const ran: CelUse[] = [];
      validateNodeClass(parseYaml(print(args).out), ran);
      ran.forEach((u) => all.add(u.rule));
    }
    for (const rule of ["self != ''", "self.all(k, k != '' && self[k] != '')", "!(self.exists(x, has(x.alias)) && self.size() != 1)", "has(self.snapshotID) || has(self.volumeSize)"]) {
      assert.ok(all.has(rule), rule);
    }
    assert.ok(all.size >= 20, `${all.size} distinct rules ran`);
  });
});
