/**
 * Every rendered AL2023 variant after Karpenter's real merge (v1.15.2's own `bootstrap.Nodeadm.Script()`, run by
 * lab/.bin/karpenter-merge) and after our model of EKS's: the size rule (validation/userDataSize.ts) accepts a document
 * only if it leaves at least 1 KiB of EC2's 16,384 bytes free after the merger its node group meets, and its
 * estimate of each merger is checked against the merger itself. No size here is hard-coded: each is rendered and merged.
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { after, before, describe, it } from "node:test";
import { AT_BOOT, DEFAULT_MIRROR_BASE_URL, DEFAULT_SOCI_VERSION, NodeBootstrapOptions, renderUserData } from "../../userdata";
import {
  EC2_USER_DATA_LIMIT,
  karpenterSerializedBytes,
  MERGE_MARGIN,
  MERGER_PART_BYTES,
  mergerPartBytes,
  ownBytesInMerge,
  TYPICAL_MERGER_CLUSTER,
  UserDataMerger,
  userDataSizeProblems,
} from "../../validation/userDataSize";
import { karpenterMerge, karpenterMergeMissing, KarpenterMergeReport } from "../helpers/karpenterMerge";
import { M7I_XLARGE, TEST_ONLY_DIGEST_AMD64, TEST_ONLY_DIGESTS, TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { REPO_ROOT } from "../helpers/sociWiring";

const EKS_MODEL = path.join(REPO_ROOT, "test/consumers/mime_merge.py");
const REGISTRIES = ["444455556666.dkr.ecr.eu-west-1.amazonaws.com", "777788889999.dkr.ecr.us-east-1.amazonaws.com"];
const LABELS = { team: "ml-platform", "example.com/workload": "big-images", "example.com/cost-center": "cc-1234" };
const TAINTS = [
  { key: "workload", value: "big-images", effect: "NoSchedule" as const },
  { key: "example.com/dedicated", value: "soci", effect: "NoExecute" as const },
];
/** The soci-eks labels EKS adds to a managed node group's part (mode and storage). */
const OUR_LABELS = (mode: string, ssd: boolean) => ({ "soci-eks/mode": mode, "soci-eks/storage": ssd ? "nvme" : "ebs" });

interface Variant {
  name: string;
  options: NodeBootstrapOptions;
  /** The EC2NodeClass has instanceStorePolicy RAID0 (Karpenter builds the array). */
  raid0: boolean;
}

/** lazy/parallel/off × storage × extra settings × per-type and instance-agnostic. */
function variants(): Variant[] {
  const out: Variant[] = [];
  const storages = [
    { name: "ebs", localStorage: undefined, raid0: false },
    { name: "ssd", localStorage: { raid0: true }, raid0: false },
    { name: "ssd-keep-soci-on-ebs", localStorage: { raid0: true, keepSociOnRootVolume: true }, raid0: false },
    { name: "ssd-by-karpenter", localStorage: { raid0: true, arrayBuiltByKarpenter: true }, raid0: true },
  ];
  const extras: { name: string; options: Partial<NodeBootstrapOptions> }[] = [
    { name: "bare", options: {} },
    {
      name: "cluster-fields",
      options: { cluster: { name: TYPICAL_MERGER_CLUSTER.name, apiServerEndpoint: TYPICAL_MERGER_CLUSTER.endpoint, certificateAuthority: TYPICAL_MERGER_CLUSTER.certificateAuthority, serviceCidr: TYPICAL_MERGER_CLUSTER.serviceCidr } },
    },
    { name: "labels+taints", options: { labels: LABELS, taints: TAINTS } },
    { name: "extra-registries", options: { extraEcrRegistries: REGISTRIES } },
  ];
  for (const mode of ["lazy", "parallel", "off"] as const) {
    for (const storage of storages) {
      for (const extra of extras) {
        for (const atBoot of [false, true]) {
          out.push({
            name: `${mode} ${storage.name} ${extra.name} ${atBoot ? "instance-agnostic" : "m7i.xlarge"}`,
            options: {
              mode,
              release: { version: DEFAULT_SOCI_VERSION, mirrorBaseUrl: DEFAULT_MIRROR_BASE_URL, sha256: TEST_ONLY_DIGESTS },
              instance: atBoot ? AT_BOOT : M7I_XLARGE,
              architecture: atBoot ? AT_BOOT : "x86_64",
              ...(storage.localStorage ? { localStorage: storage.localStorage } : {}),
              ...extra.options,
            },
            raid0: storage.raid0,
          });
        }
      }
    }
  }
  return out;
}

interface Measured {
  variant: Variant;
  raw: number;
  karpenter: KarpenterMergeReport;
  /** Our model of EKS's merge, with the node group's labels and taints in its part (as a managed node group has them). */
  eks: number;
  verdict: Record<Exclude<UserDataMerger, "none">, boolean>;
}

describe("user data size after the real mergers (the size rule against Karpenter's own code and the EKS model)", () => {
  const work = mkdtempSync(path.join(tmpdir(), "soci-eks-size-"));
  const measured: Measured[] = [];
  after(() => rmSync(work, { recursive: true, force: true }));

  before(() => {
    const missing = karpenterMergeMissing();
    if (missing) throw new Error(missing);
    variants().forEach((variant, i) => {
      const rendered = renderUserData("al2023", variant.options);
      const ours = path.join(work, `v${i}.mime`);
      writeFileSync(ours, rendered.text);
      const karpenter = karpenterMerge(ours, path.join(work, `v${i}.karpenter`), variant.raid0);
      const ssd = variant.options.localStorage !== undefined;
      const groupLabels = { ...(variant.options.labels ?? {}), ...OUR_LABELS(variant.options.mode, ssd) };
      const taints = variant.options.taints ?? [];
      const eksOut = path.join(work, `v${i}.eks`);
      const cluster = [TYPICAL_MERGER_CLUSTER.name, TYPICAL_MERGER_CLUSTER.endpoint, TYPICAL_MERGER_CLUSTER.certificateAuthority, TYPICAL_MERGER_CLUSTER.serviceCidr].join(",");
      const r = spawnSync("/usr/bin/python3", [
        EKS_MODEL, "eks", ours, eksOut, "--cluster", cluster, "--nodegroup", TYPICAL_MERGER_CLUSTER.nodeGroupName,
        "--labels", Object.entries(groupLabels).map(([k, v]) => `${k}=${v}`).join(","),
        "--taints", taints.map((t) => `${t.key}=${t.value ?? ""}:${t.effect}`).join(","),
      ], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stderr);
      const check = (merger: UserDataMerger) =>
        userDataSizeProblems({
          os: "al2023",
          options: variant.options,
          merger,
          ...(merger === "eks" ? { mergerNodeGroup: { labels: groupLabels, taints } } : {}),
          subject: variant.name,
          name: (k) => k,
          clusterSetting: "cluster",
        }).length === 0;
      measured.push({ variant, raw: Buffer.byteLength(rendered.text), karpenter, eks: statSync(eksOut).size, verdict: { karpenter: check("karpenter"), eks: check("eks") } });
    });
  });

  it("covers lazy, parallel and off × 4 storage layouts × bare, cluster fields, labels and taints, extra registries × per type and instance-agnostic", () => {
    assert.equal(measured.length, 3 * 4 * 4 * 2);
  });

  it("prints every variant's size: ours, after Karpenter's merge, after the EKS model, and the rule's verdict", (t) => {
    const cell = (bytes: number, ok: boolean) => `${bytes} (${EC2_USER_DATA_LIMIT - bytes} free${ok ? "" : ", refused"})`;
    t.diagnostic("variant | ours | after Karpenter v1.15.2 | after the EKS model");
    for (const m of measured) {
      t.diagnostic(`${m.variant.name} | ${m.raw} | ${cell(m.karpenter.mergedBytes, m.verdict.karpenter)} | ${cell(m.eks, m.verdict.eks)}`);
    }
  });

  it("the rule re-serializes our parts exactly as Karpenter's bootstrap/mime does", () => {
    for (const m of measured) {
      const parts = renderUserData("al2023", m.variant.options).parts;
      assert.equal(karpenterSerializedBytes(parts), m.karpenter.mergedBytes - m.karpenter.karpenterPartBytes, m.variant.name);
    }
  });

  it("Karpenter's part for the typical cluster is what the rule reserves for it (within 64 bytes, never more)", () => {
    const parts = measured.map((m) => m.karpenter.karpenterPartBytes);
    assert.ok(Math.max(...parts) <= MERGER_PART_BYTES.karpenter, `Karpenter's part grew to ${Math.max(...parts)} bytes; the rule reserves ${MERGER_PART_BYTES.karpenter}`);
    assert.ok(Math.max(...parts) > MERGER_PART_BYTES.karpenter - 64, `the rule reserves ${MERGER_PART_BYTES.karpenter} bytes, Karpenter's part is at most ${Math.max(...parts)}`);
  });

  it("the rule's estimate of each merged document bounds the real one (Karpenter) and the model (EKS), within 64 bytes", () => {
    for (const m of measured) {
      const rendered = renderUserData("al2023", m.variant.options);
      const ssd = m.variant.options.localStorage !== undefined;
      const karpenter = ownBytesInMerge("karpenter", rendered) + mergerPartBytes("karpenter");
      assert.ok(karpenter >= m.karpenter.mergedBytes && karpenter - m.karpenter.mergedBytes < 64, `${m.variant.name}: estimate ${karpenter}, Karpenter ${m.karpenter.mergedBytes}`);
      const eks = m.raw + mergerPartBytes("eks", { labels: { ...(m.variant.options.labels ?? {}), ...OUR_LABELS(m.variant.options.mode, ssd) }, taints: m.variant.options.taints });
      assert.ok(eks >= m.eks && eks - m.eks < 64, `${m.variant.name}: estimate ${eks}, EKS model ${m.eks}`);
    }
  });

  it("every document the rule accepts leaves at least 1 KiB free after its merger", () => {
    for (const m of measured) {
      if (m.verdict.karpenter) assert.ok(m.karpenter.mergedBytes <= EC2_USER_DATA_LIMIT - MERGE_MARGIN, `${m.variant.name}: ${m.karpenter.mergedBytes} after Karpenter`);
      if (m.verdict.eks) assert.ok(m.eks <= EC2_USER_DATA_LIMIT - MERGE_MARGIN, `${m.variant.name}: ${m.eks} after EKS`);
    }
  });

  it("the defaults fit: lazy and parallel on EBS, per type and instance-agnostic, after either merger", () => {
    for (const m of measured.filter((x) => / ebs bare /.test(x.variant.name) && x.variant.options.mode !== "off")) {
      assert.ok(m.verdict.karpenter && m.verdict.eks, `${m.variant.name}: ${m.raw} bytes refused (Karpenter ${m.karpenter.mergedBytes}, EKS ${m.eks})`);
    }
    for (const m of measured.filter((x) => x.variant.options.mode === "parallel" && / bare /.test(x.variant.name))) {
      assert.ok(m.verdict.karpenter && m.verdict.eks, `${m.variant.name}: ${m.raw} bytes refused`);
    }
  });

  it("the check can fail: a document 1 KiB from the limit after Karpenter is refused, one with room is not", () => {
    const lazy = measured.find((m) => m.variant.name === "lazy ebs bare m7i.xlarge")!;
    const room = EC2_USER_DATA_LIMIT - MERGE_MARGIN - lazy.karpenter.mergedBytes;
    assert.ok(room > 0, `${room}`);
    // Incompressible registry names grow the document by about their length; enough of them eat the room.
    const registries = (n: number) => Array.from({ length: n }, (_, i) => `${String(100000000000 + i * 7919)}.dkr.ecr.us-west-2.amazonaws.com`);
    const refused = (n: number) => userDataSizeProblems({ os: "al2023", options: { ...lazy.variant.options, extraEcrRegistries: registries(n) }, merger: "karpenter", subject: "x", name: (k) => k }).length > 0;
    assert.equal(refused(0), false);
    const n = Array.from({ length: 200 }, (_, i) => i).find((i) => refused(i))!;
    assert.ok(n > 0);
    const file = path.join(work, "edge.mime");
    writeFileSync(file, renderUserData("al2023", { ...lazy.variant.options, extraEcrRegistries: registries(n) }).text);
    const merged = karpenterMerge(file, `${file}.out`, false).mergedBytes;
    assert.ok(merged > EC2_USER_DATA_LIMIT - MERGE_MARGIN - 64, `refused at ${merged} bytes after Karpenter's merge`);
  });
});

describe("the CLI applies the size rule before it prints anything", () => {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const cli: typeof import("../../cli/userdata") = require("../../cli/userdata");
  const CLUSTER = ["--cluster-name", "prod", "--api-server-endpoint", TYPICAL_MERGER_CLUSTER.endpoint, "--certificate-authority", TYPICAL_MERGER_CLUSTER.certificateAuthority, "--service-cidr", "172.20.0.0/16"];
  const labels = Array.from({ length: 40 }, (_, i) => ["--label", `example.com/team-label-${i}=value-${i}-${"x".repeat(30)}`]).flat();

  it("refuses a document over 16,384 bytes with cluster fields (no merger), naming the flags that made it large", () => {
    assert.throws(() => cli.parseUserdataArgs(["--instance-type", "m6id.2xlarge", "--ssd", "--soci-sha256", TEST_ONLY_DIGEST_AMD64, ...CLUSTER, ...labels]), (e: Error) => {
      assert.match(e.message, /--label.*: '\d{5} bytes' is what the printed user data comes to, over EC2's 16384-byte user data limit by \d+ \(.*--label adds \d+/);
      assert.match(e.message, /--ssd adds \d+\)\. Any one of these makes it fit: .*set fewer or shorter --label/);
      return true;
    });
  });

  it("with --karpenter, measures after Karpenter's merge: parallel --ssd fits, with many labels it does not; lazy --ssd is refused with its fixes", () => {
    // Instance-agnostic: the document pins both architectures' digests.
    const karpenter = ["--karpenter", "--role", "KarpenterNodeRole-x", "--discovery-tag", "x", "--ssd", "--soci-sha256", TEST_ONLY_SOCI_SHA256];
    assert.doesNotThrow(() => cli.parseUserdataArgs([...karpenter, "--mode", "parallel"]));
    assert.throws(() => cli.parseUserdataArgs([...karpenter, "--mode", "parallel", ...labels]), /Karpenter's merge adds its NodeConfig part.*so at most \d+ fit/);
    // lazy (the default) --ssd, instance-agnostic, no longer leaves 1 KiB after Karpenter's merge (docs/known-limits.md)
    assert.throws(() => cli.parseUserdataArgs(karpenter), /--mode, --ssd: .*so at most \d+ fit: \d+ too many.*set --mode to parallel.*turn --ssd off/);
  });
});
