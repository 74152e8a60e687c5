import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { readFileSync } from "fs";
import * as path from "path";
import { beforeEach, describe, it } from "node:test";
import { ECR_ACCOUNT as ACCOUNT, ECR_REGION as REGION, ECR_REGISTRY as REGISTRY, installMocks, promiseOf, RecordedResource, settle } from "../helpers/mocks";
import { restrictedViolations } from "../helpers/podSecurity";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
const DIGEST_A = `sha256:${"a".repeat(64)}`;
const DIGEST_B = `sha256:${"b".repeat(64)}`;
const BUILDER = `${REGISTRY}/soci-eks/builder@sha256:${"d".repeat(64)}`;

const mocks = installMocks(false);
// Load after the mocks.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const mod: typeof import("../../components/sociIndexBuilder") = require("../../components/sociIndexBuilder");
const { SociIndexBuilder, buildHash, jobNameFor, resolveSourceImage, validateIndexBuilderArgs, sourceRepositoryProblem } = mod;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { SociConfigError } = require("../../validation/problems") as typeof import("../../validation/problems");
type Args = import("../../components/sociIndexBuilder").SociIndexBuilderArgs;

import { K8S_JOB as JOB, K8S_CONFIG_MAP as CM, K8S_NAMESPACE as NS, K8S_SERVICE_ACCOUNT as SA, IAM_ROLE as ROLE, IAM_ROLE_POLICY as POLICY, POD_IDENTITY_ASSOCIATION as ASSOC, EKS_ADDON as ADDON } from "../helpers/resourceTypes";

function ofType(type: string, prefix: string): RecordedResource[] {
  return mocks.resources.filter((r) => r.type === type && r.name.startsWith(prefix));
}

/** The builder's required arguments around the given ones. */
function args(over: Partial<Args> & Pick<Args, "images">): Args {
  return { clusterName: "prod-eks", builderImage: BUILDER, ...over };
}

async function build(name: string, a: Args) {
  const builder = new SociIndexBuilder(name, a);
  const results = await promiseOf(builder.results);
  await settle(mocks);
  return { builder, results, jobs: ofType(JOB, `${name}-`) };
}

function immutableEcr(): void {
  mocks.ecr.images.set("ml/trainer:v1", DIGEST_A);
  mocks.ecr.images.set("web:2.0", DIGEST_B);
  mocks.ecr.mutability.set("ml/trainer", "IMMUTABLE");
  mocks.ecr.mutability.set("web", "IMMUTABLE");
}

describe("SociIndexBuilder graph", () => {
  beforeEach(() => {
    mocks.reset();
    immutableEcr();
  });

  it("creates the namespace, script, identity (role, policy, service account, Pod Identity, agent add-on) and one Job per image", async () => {
    const { results, jobs } = await build("one", args({ images: [{ repository: "ml/trainer", tag: "v1" }, { repository: "web", tag: "2.0" }] }));
    assert.equal(jobs.length, 2);
    for (const [type, n] of [[CM, 1], [NS, 1], [SA, 1], [ROLE, 1], [POLICY, 1], [ASSOC, 1], [ADDON, 1]] as const) {
      assert.equal(ofType(type, "one-").length, n, type);
    }
    assert.deepEqual(
      results.map((r) => [r.sourceRef, r.destinationRef, r.namespace]),
      [
        [`${REGISTRY}/ml/trainer@${DIGEST_A}`, `${REGISTRY}/ml/trainer:v1-soci`, "soci-eks-index"],
        [`${REGISTRY}/web@${DIGEST_B}`, `${REGISTRY}/web:2.0-soci`, "soci-eks-index"],
      ],
    );
    const ns = ofType(NS, "one-")[0].inputs.metadata;
    assert.equal(ns.name, "soci-eks-index");
    assert.equal(ns.labels["pod-security.kubernetes.io/enforce"], "restricted");
    const addon = ofType(ADDON, "one-")[0].inputs;
    assert.deepEqual([addon.clusterName, addon.addonName], ["prod-eks", "eks-pod-identity-agent"]);
    const assoc = ofType(ASSOC, "one-")[0].inputs;
    assert.deepEqual([assoc.clusterName, assoc.namespace, assoc.serviceAccount], ["prod-eks", "soci-eks-index", "soci-index-builder"]);
    assert.equal(assoc.roleArn, "arn:aws:iam::123456789012:role/one-role-1234567");
    const sa = ofType(SA, "one-")[0].inputs;
    assert.deepEqual([sa.metadata.name, sa.metadata.namespace, sa.automountServiceAccountToken], ["soci-index-builder", "soci-eks-index", false]);
  });

  it("the Job's pod meets the restricted Pod Security Standard: no privilege, no host namespace or path, non-root, read-only root", async () => {
    const { jobs } = await build("spec", args({ images: [{ repository: "ml/trainer", tag: "v1" }] }));
    const job = jobs[0].inputs;
    const pod = job.spec.template.spec;
    assert.deepEqual(restrictedViolations(pod), []);
    assert.equal(pod.hostNetwork, undefined);
    assert.equal(pod.serviceAccountName, "soci-index-builder");
    assert.equal(pod.automountServiceAccountToken, false);
    assert.deepEqual(pod.nodeSelector, { "kubernetes.io/os": "linux" });
    assert.equal(pod.securityContext.runAsUser, 65532);
    assert.ok(pod.volumes.every((v: any) => v.hostPath === undefined), "no hostPath volume");
    const [c] = pod.containers;
    assert.equal(c.image, BUILDER);
    assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
    assert.equal(c.securityContext.privileged, false);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.deepEqual(c.command, ["/bin/bash", "/opt/soci-eks/build-soci-index.sh"]);
    assert.deepEqual(c.volumeMounts.map((m: any) => m.mountPath).sort(), ["/opt/soci-eks", "/work"]);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    assert.deepEqual(env, {
      SRC_REF: `${REGISTRY}/ml/trainer@${DIGEST_A}`,
      DST_REF: `${REGISTRY}/ml/trainer:v1-soci`,
      SOCI_VERSION: "0.16.1",
      MIN_LAYER_SIZE: String(10 << 20),
      SPAN_SIZE: String(2 << 20),
      WORK_DIR: "/work",
      HOME: "/work",
      TMPDIR: "/work/tmp",
      CREDENTIAL_HELPER: "ecr-login",
    });
    assert.equal(job.metadata.namespace, "soci-eks-index");
    assert.match(job.metadata.name, /^soci-index-trainer-[0-9a-f]{10}$/);
    assert.equal(job.spec.backoffLimit, 1);
    assert.equal(job.spec.activeDeadlineSeconds, 3600);
    assert.equal(job.metadata.annotations["soci-eks/destination"], env.DST_REF);
  });

  it("the ConfigMap holds components/scripts/build-soci-index.sh byte for byte, immutable, named by its hash", async () => {
    await build("cm", args({ images: [{ repository: "web", tag: "2.0" }] }));
    const cm = ofType(CM, "cm-")[0].inputs;
    assert.equal(cm.data["build-soci-index.sh"], readFileSync(path.join(REPO_ROOT, "components/scripts/build-soci-index.sh"), "utf8"));
    assert.equal(cm.immutable, true);
    assert.match(cm.metadata.name, /^soci-index-builder-[0-9a-f]{10}$/);
  });

  it("same digest gives the same Job name; a new digest behind the same tag gives a new one", async () => {
    mocks.ecr.mutability.set("ml/trainer", "MUTABLE");
    const a = (over: Partial<Args> = {}) => args({ images: [{ repository: "ml/trainer", tag: "v1", destinationRepository: "ml/trainer-soci" }], ...over });
    const first = await build("d1", a());
    const again = await build("d2", a());
    assert.equal(first.results[0].jobName, again.results[0].jobName);
    assert.equal(first.jobs[0].inputs.metadata.name, first.results[0].jobName);
    mocks.ecr.images.set("ml/trainer:v1", `sha256:${"c".repeat(64)}`); // a new push to the same (mutable) tag
    const pushed = await build("d3", a());
    assert.notEqual(pushed.results[0].jobName, first.results[0].jobName);
    // The logical Pulumi name stays put, so the engine replaces the Job instead of adding one.
    assert.equal(pushed.jobs[0].name.replace(/^d3/, ""), first.jobs[0].name.replace(/^d1/, ""));
  });

  it("the soci version, the convert options, the destination and the builder image are part of the Job name", async () => {
    const img = [{ repository: "web", tag: "2.0" }];
    const names = [
      (await build("o1", args({ images: img }))).results[0].jobName,
      (await build("o2", args({ images: img, sociVersion: "0.15.0" }))).results[0].jobName,
      (await build("o3", args({ images: img, minLayerSizeBytes: 0 }))).results[0].jobName,
      (await build("o4", args({ images: img, spanSizeBytes: 1 << 20 }))).results[0].jobName,
      (await build("o5", args({ images: [{ repository: "web", tag: "2.0", destinationTag: "2.0-lazy" }] }))).results[0].jobName,
      (await build("o6", args({ images: img, builderImage: `${REGISTRY}/soci-eks/builder@sha256:${"e".repeat(64)}` }))).results[0].jobName,
    ];
    assert.equal(new Set(names).size, names.length);
  });

  it("a digest source is pulled by that digest and tagged soci-<12 hex> by default", async () => {
    const { results } = await build("dg", args({ images: [{ repository: "web", digest: DIGEST_B }] }));
    assert.equal(results[0].destinationRef, `${REGISTRY}/web:soci-${"b".repeat(12)}`);
    const lookup = mocks.invokes.filter((i) => i.token === "aws:ecr/getImage:getImage" && i.inputs.imageDigest === DIGEST_B).pop();
    assert.ok(lookup, "looked up by digest");
    assert.equal(lookup.inputs.imageTag, undefined);
  });

  it("options reach the Job: selector, tolerations, timeout, namespace", async () => {
    const { jobs } = await build(
      "opt",
      args({
        images: [{ repository: "web", tag: "2.0" }],
        nodeSelector: { "eks.amazonaws.com/nodegroup": "builders" },
        tolerations: [{ key: "builds", operator: "Exists", effect: "NoSchedule" }],
        timeoutMinutes: 90,
        namespace: "builds",
        createNamespace: false,
      }),
    );
    const job = jobs[0].inputs;
    assert.deepEqual(job.spec.template.spec.nodeSelector, { "eks.amazonaws.com/nodegroup": "builders" });
    assert.deepEqual(job.spec.template.spec.tolerations, [{ key: "builds", operator: "Exists", effect: "NoSchedule" }]);
    assert.equal(job.spec.activeDeadlineSeconds, 5400);
    assert.equal(job.metadata.namespace, "builds");
    assert.equal(ofType(NS, "opt-").length, 0);
    assert.equal(ofType(ASSOC, "opt-")[0].inputs.namespace, "builds");
  });
});

describe("SociIndexBuilder prefetch", () => {
  beforeEach(() => {
    mocks.reset();
    immutableEcr();
  });

  it("without prefetch the Job is exactly the plain build: one restricted container, no list, no recording", async () => {
    const { jobs, results } = await build("plain", args({ images: [{ repository: "web", tag: "2.0" }] }));
    const pod = jobs[0].inputs.spec.template.spec;
    assert.equal(pod.initContainers, undefined);
    assert.deepEqual(pod.containers.map((c: any) => c.name), ["build"]);
    assert.ok(!pod.containers[0].env.some((e: any) => e.name === "PREFETCH_READS" || e.name === "STEP"));
    assert.equal(results[0].prefetch, "none");
    assert.equal(ofType(CM, "plain-prefetch").length, 0);
  });

  it("a list of files and ranges becomes an immutable ConfigMap the build reads; the pod stays restricted", async () => {
    const files = [{ path: "/app/model.bin", ranges: [{ offset: 0, length: 1 << 20 }, { offset: 8 << 20, length: 4096 }] }, { path: "/app/main.py" }];
    const { jobs, results } = await build("list", args({ images: [{ repository: "web", tag: "2.0", prefetch: { files } }] }));
    const [cm] = ofType(CM, "list-prefetch-");
    assert.match(cm.inputs.metadata.name, /^soci-index-prefetch-[0-9a-f]{10}$/);
    assert.equal(cm.inputs.immutable, true);
    assert.deepEqual(JSON.parse(cm.inputs.data["list.json"]), {
      version: 1,
      source: "list",
      files: [{ path: "/app/model.bin", ranges: [[0, 1 << 20], [8 << 20, 4096]] }, { path: "/app/main.py" }],
    });
    const pod = jobs[0].inputs.spec.template.spec;
    assert.deepEqual(restrictedViolations(pod), []);
    const env = Object.fromEntries(pod.containers[0].env.map((e: any) => [e.name, e.value]));
    assert.equal(env.PREFETCH_READS, "/opt/soci-eks-prefetch/list.json");
    assert.equal(env.STEP, undefined);
    assert.deepEqual(pod.volumes.find((v: any) => v.name === "prefetch-list").configMap, { name: cm.inputs.metadata.name, defaultMode: 0o444 });
    assert.ok(pod.containers[0].volumeMounts.some((m: any) => m.name === "prefetch-list" && m.mountPath === "/opt/soci-eks-prefetch" && m.readOnly));
    assert.equal(results[0].prefetch, "files");
    assert.equal(ofType(NS, "list-")[0].inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
  });

  it("a recording: fetch (restricted), record (privileged, sandboxing the image itself), build (restricted) in one pod", async () => {
    const { jobs, results } = await build(
      "rec",
      args({ images: [{ repository: "web", tag: "2.0", prefetch: { record: { seconds: 12, args: ["serve", "--port=8080"], env: { MODEL: "small", A: "1" } }, files: [{ path: "/x" }] } }] }),
    );
    const pod = jobs[0].inputs.spec.template.spec;
    assert.deepEqual(pod.initContainers.map((c: any) => c.name), ["fetch", "record"]);
    const [fetch, record] = pod.initContainers;
    const envOf = (c: any) => Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    assert.equal(envOf(fetch).STEP, "fetch");
    assert.deepEqual(record.command, [
      "soci-eks-prefetch", "record", "--layout", "/work/src", "--out", "/work/reads-record.json", "--workdir", "/work", "--image", results[0].sourceRef,
      "--seconds", "12", "--arg", "serve", "--arg", "--port=8080", "--env", "A=1", "--env", "MODEL=small",
    ]);
    assert.match(results[0].sourceRef, /\/web@sha256:[0-9a-f]{64}$/);
    // Without allowNonZeroExit the recorder refuses a crashed start; its error is the pod's status.
    assert.ok(!record.command.includes("--allow-nonzero-exit"));
    assert.equal(record.terminationMessagePolicy, "FallbackToLogsOnError");
    assert.deepEqual(record.securityContext, { privileged: true, runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: true });
    assert.equal(record.env, undefined, "the recording gets no build settings");
    const buildEnv = envOf(pod.containers[0]);
    assert.equal(buildEnv.STEP, "build");
    assert.equal(buildEnv.PREFETCH_READS, "/work/reads-record.json:/opt/soci-eks-prefetch/list.json");
    // Only the recording container is outside the restricted profile.
    assert.ok(restrictedViolations(pod).every((v) => v.startsWith("container record ")), restrictedViolations(pod).join("\n"));
    assert.equal(ofType(NS, "rec-")[0].inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
    assert.equal(results[0].prefetch, "record+files");
  });

  it("record.allowNonZeroExit reaches the recorder as --allow-nonzero-exit, and changes the Job name", async () => {
    const img = (allowNonZeroExit?: boolean) => [{ repository: "web", tag: "2.0", prefetch: { record: { seconds: 10, ...(allowNonZeroExit === undefined ? {} : { allowNonZeroExit }) } } }];
    const on = await build("anz1", args({ images: img(true) }));
    const off = await build("anz2", args({ images: img(false) }));
    const unset = await build("anz3", args({ images: img() }));
    const cmd = (b: typeof on) => b.jobs[0].inputs.spec.template.spec.initContainers[1].command as string[];
    assert.equal(cmd(on).at(-1), "--allow-nonzero-exit");
    assert.ok(!cmd(off).includes("--allow-nonzero-exit") && !cmd(unset).includes("--allow-nonzero-exit"));
    assert.notEqual(on.results[0].jobName, unset.results[0].jobName);
  });

  it("prefetch settings are part of the Job name", async () => {
    const img = (prefetch?: any) => [{ repository: "web", tag: "2.0", ...(prefetch ? { prefetch } : {}) }];
    const names = [
      (await build("p1", args({ images: img() }))).results[0].jobName,
      (await build("p2", args({ images: img({ record: { seconds: 10 } }) }))).results[0].jobName,
      (await build("p3", args({ images: img({ record: { seconds: 11 } }) }))).results[0].jobName,
      (await build("p4", args({ images: img({ files: [{ path: "/a" }] }) }))).results[0].jobName,
      (await build("p5", args({ images: img({ files: [{ path: "/a", ranges: [{ offset: 0, length: 1 }] }] }) }))).results[0].jobName,
    ];
    assert.equal(new Set(names).size, names.length);
  });

  it("bad prefetch options are refused with the setting, value and fix", () => {
    const problems = validateIndexBuilderArgs(
      args({
        images: [
          { repository: "a", tag: "1", prefetch: {} },
          { repository: "b", tag: "1", prefetch: { record: { seconds: 0 } } },
          { repository: "c", tag: "1", prefetch: { record: { seconds: 5, env: { "BAD-NAME": "x" } }, files: [{ path: "rel/x", ranges: [{ offset: -1, length: 0 }] }] } },
          { repository: "d", tag: "1", prefetch: { files: [] } },
          { repository: "e", tag: "1", prefetch: { record: { seconds: 5, allowNonZeroExit: "yes" as unknown as boolean } } },
        ],
      }),
    );
    assert.deepEqual(problems.map((p) => p.setting), [
      "images[0].prefetch",
      "images[1].prefetch.record.seconds",
      "images[2].prefetch.record.env.BAD-NAME",
      "images[2].prefetch.files[0].path",
      "images[2].prefetch.files[0].ranges[0]",
      "images[3].prefetch.files",
      "images[4].prefetch.record.allowNonZeroExit",
    ]);
    assert.match(problems[1].reason, /from 1 to 600/);
    assert.equal(problems[6].value, "yes");
    assert.match(problems[6].fix, /Set true to keep a recording whose container exits non-zero/);
  });
});

describe("SociIndexBuilder identity", () => {
  beforeEach(() => {
    mocks.reset();
    immutableEcr();
  });

  it("only EKS Pod Identity can assume the role; it pulls the sources and pushes only the destinations", async () => {
    mocks.ecr.images.set("team/api:7", DIGEST_A);
    await build("iam", args({ images: [{ repository: "ml/trainer", tag: "v1" }, { repository: "team/api", tag: "7", destinationRepository: "team/api-soci" }] }));
    const trust = JSON.parse(ofType(ROLE, "iam-")[0].inputs.assumeRolePolicy);
    assert.deepEqual(trust.Statement, [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }]);
    const policy = ofType(POLICY, "iam-")[0].inputs;
    assert.equal(policy.role, "iam-role-1234567");
    const doc = JSON.parse(policy.policy);
    const byId = Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
    const arn = (r: string) => `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/${r}`;
    assert.deepEqual(byId.SociSourcePull.Resource, [arn("ml/trainer"), arn("team/api")]);
    assert.deepEqual(byId.SociSourcePull.Action, ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]);
    assert.deepEqual(byId.SociIndexPush.Resource, [arn("ml/trainer"), arn("team/api-soci")], "push only where an index goes");
    assert.ok(byId.SociIndexPush.Action.includes("ecr:PutImage"));
    assert.deepEqual(byId.EcrAuth, { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" });
    assert.equal(doc.Statement.length, 3);
  });

  it("with the cluster's agent add-on (SociCluster's) or 'installed', the builder creates no add-on", async () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const aws: typeof import("@pulumi/aws") = require("@pulumi/aws");
    const agent = new aws.eks.Addon("cluster-pod-identity-agent", { clusterName: "prod-eks", addonName: "eks-pod-identity-agent" });
    await build("given", args({ images: [{ repository: "web", tag: "2.0" }], podIdentityAgent: agent }));
    assert.equal(ofType(ADDON, "given-").length, 0);
    assert.equal(ofType(ASSOC, "given-").length, 1);
    await build("inst", args({ images: [{ repository: "web", tag: "2.0" }], podIdentityAgent: "installed" }));
    assert.equal(ofType(ADDON, "inst-").length, 0);
  });

  it("a kubeconfig makes a Kubernetes provider under the component, used by every Kubernetes child", async () => {
    await build("kc", args({ images: [{ repository: "web", tag: "2.0" }], kubeconfig: '{"apiVersion":"v1"}' }));
    const provider = mocks.resources.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "kc-k8s");
    assert.ok(provider, "provider kc-k8s");
    const kids = mocks.resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("kc-"));
    assert.equal(kids.length, 4); // namespace, ConfigMap, service account, Job
    for (const k of kids) assert.match(k.provider ?? "", /pulumi:providers:kubernetes::kc-k8s::/, k.name);
  });
});

/** Runs a SociIndexBuilder in a program of its own under mocks; returns the errors it failed with and what it registered. */
function runProgram(body: string, ecr: { images: Record<string, string>; mutability: Record<string, string> }): { errors: string[]; registered: string[] } {
  // A program of its own: failed registrations surface as unhandled rejections, which is how the Node.js language host
  // fails a `pulumi preview`, and which node:test would pin on whichever test runs next.
  const program = `
    const pulumi = require("@pulumi/pulumi");
    const ecr = ${JSON.stringify(ecr)};
    const registered = [];
    pulumi.runtime.setMocks({
      newResource: (a) => { registered.push(a.type); return { id: a.name, state: { ...a.inputs, name: a.name, arn: "arn:x" } }; },
      call: (a) => {
        if (a.token === "aws:ecr/getImage:getImage") {
          const d = ecr.images[a.inputs.repositoryName + ":" + a.inputs.imageTag];
          if (!d) throw new Error("ImageNotFoundException");
          return { imageDigest: d, registryId: "${ACCOUNT}", region: "${REGION}" };
        }
        if (a.token === "aws:ecr/getRepository:getRepository") return { name: a.inputs.name, imageTagMutability: ecr.mutability[a.inputs.name] };
        throw new Error("unmocked " + a.token);
      },
    }, "soci-eks", "test", true);
    const { SociIndexBuilder } = require(${JSON.stringify(path.join(REPO_ROOT, "dist/components/sociIndexBuilder"))});
    const errors = new Set();
    process.on("unhandledRejection", (e) => errors.add(String(e && e.message || e)));
    ${body}
    setTimeout(() => { console.log(JSON.stringify({ errors: [...errors], registered: registered.filter((t) => !t.startsWith("soci-eks:")) })); }, 1000);
  `;
  const r = spawnSync(process.execPath, ["-e", program], { cwd: REPO_ROOT, encoding: "utf8" });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  assert.match(line, /^\{"errors"/, r.stderr);
  return JSON.parse(line);
}

describe("SociIndexBuilder errors from ECR, before anything is created", () => {
  beforeEach(() => {
    mocks.reset();
    immutableEcr();
  });

  it("a missing tag is an error at preview naming the repository and tag", async () => {
    await assert.rejects(resolveSourceImage({ repository: "web", tag: "does-not-exist" }, {}, "SociIndexBuilder 'x'"), (err: Error) => {
      // The engine appends ECR's own text ("ECR said: ..."); the mock monitor drops invoke error messages.
      assert.match(err.message, /^SociIndexBuilder 'x': source image web:does-not-exist was not found in ECR\. Push it first/);
      return true;
    });
  });

  it("a missing image fails the program and registers nothing at all", () => {
    const out = runProgram(`new SociIndexBuilder("missing", { clusterName: "c", builderImage: ${JSON.stringify(BUILDER)}, images: [{ repository: "nope/app", tag: "v9", destinationRepository: "nope/app-soci" }] });`, { images: {}, mutability: {} });
    assert.ok(out.errors.length > 0, "the program fails");
    for (const m of out.errors) assert.match(m, /SociIndexBuilder 'missing': source image nope\/app:v9 was not found in ECR/);
    assert.deepEqual(out.registered, []);
  });

  it("an index pushed into a source repository with mutable tags is refused, naming the setting, value and fix; nothing is registered", () => {
    const out = runProgram(
      `new SociIndexBuilder("mut", { clusterName: "c", builderImage: ${JSON.stringify(BUILDER)}, images: [{ repository: "web", tag: "2.0" }, { repository: "api", tag: "1", destinationRepository: "api-soci" }, { repository: "ml", tag: "3" }] });`,
      { images: { "web:2.0": DIGEST_A, "api:1": DIGEST_B, "ml:3": DIGEST_A }, mutability: { web: "MUTABLE", api: "MUTABLE", ml: "IMMUTABLE_WITH_EXCLUSION" } },
    );
    assert.deepEqual(out.registered, []);
    const message = out.errors.find((e) => e.includes("nothing was created")) ?? "";
    assert.match(message, /SociIndexBuilder 'mut' has 2 problems; nothing was created/);
    assert.match(message, /images\[0\]\.destinationRepository: 'web' is the source repository \(the default\), and its imageTagMutability is 'MUTABLE'/);
    assert.match(message, /images\[2\]\.destinationRepository: 'ml' .* imageTagMutability is 'IMMUTABLE_WITH_EXCLUSION'/);
    assert.match(message, /destinationRepository: 'web-soci'.*imageTagMutability: 'IMMUTABLE'.*images\[0\]\.allowPushToMutableSourceRepository: true/);
    assert.doesNotMatch(message, /images\[1\]/, "another repository needs no immutability");
  });

  it("immutable tags, the explicit opt-in, or another repository let the build go ahead", async () => {
    mocks.ecr.mutability.set("web", "MUTABLE");
    const { jobs } = await build("ok", args({ images: [{ repository: "web", tag: "2.0", allowPushToMutableSourceRepository: true }, { repository: "ml/trainer", tag: "v1" }] }));
    assert.equal(jobs.length, 2);
    assert.equal(sourceRepositoryProblem({ repository: "web", tag: "1", destinationRepository: "web-soci" }, "images[0]", "MUTABLE"), undefined);
    assert.equal(sourceRepositoryProblem({ repository: "web", tag: "1" }, "images[0]", "IMMUTABLE"), undefined);
    assert.equal(sourceRepositoryProblem({ repository: "web", tag: "1" }, "images[0]", "MUTABLE")?.setting, "images[0].destinationRepository");
    const looked = mocks.invokes.filter((i) => i.token === "aws:ecr/getRepository:getRepository").map((i) => i.inputs.name);
    assert.deepEqual(looked, ["ml/trainer"], "only a source repository without the opt-in is read");
  });
});

describe("SociIndexBuilder argument errors", () => {
  it("bad arguments throw one SociConfigError before anything is registered", () => {
    const before = mocks.resources.length;
    assert.throws(
      () =>
        new SociIndexBuilder("bad", {
          images: [
            { repository: "Web", tag: "2.0" },
            { repository: "web" },
            { repository: "web", tag: "v1", destinationTag: "v1" },
            { repository: "web", digest: "sha256:abc" },
            { repository: "web", tag: "a", destinationTag: "same" },
            { repository: "web", tag: "b", destinationTag: "same" },
            { repository: "web", tag: "c", destinationRepository: "Web Soci" },
          ],
          minLayerSizeBytes: -1,
          clusterName: "c",
          builderImage: "public.ecr.aws/amazonlinux/amazonlinux:2023",
        }),
      (err: Error) => {
        assert.ok(err instanceof SociConfigError);
        assert.match(err.message, /images\[0\]\.repository: 'Web' is not an ECR repository name/);
        assert.match(err.message, /images\[1\]:? has neither tag nor digest/);
        assert.match(err.message, /images\[2\]\.destinationTag: 'v1' equals the source tag in the source repository/);
        assert.match(err.message, /images\[3\]\.digest: 'sha256:abc' is not a sha256 digest/);
        assert.match(err.message, /images\[5\]\.destinationTag: 'same' is also the destination of images\[4\]/);
        assert.match(err.message, /images\[6\]\.destinationRepository: 'Web Soci' is not an ECR repository name/);
        assert.match(err.message, /minLayerSizeBytes: -1 is not an integer >= 0/);
        assert.match(err.message, /builderImage: 'public\.ecr\.aws\/amazonlinux\/amazonlinux:2023' is not pinned by digest.*'<registry>\/<repository>@sha256:<64 hex>'/);
        return true;
      },
    );
    assert.equal(mocks.resources.length, before);
  });

  it("names every other bad option, and the node-role and hostPath options it does not take with what it does instead", () => {
    const settings = (a: unknown) => validateIndexBuilderArgs(a as Args).map((p) => p.setting);
    assert.deepEqual(settings(args({ images: [{ repository: "web", tag: "2.0" }] })), []);
    assert.deepEqual(
      settings({ images: [{ repository: "web", tag: "2.0" }], nodeSelector: {}, timeoutMinutes: 0, partition: "azure" }),
      ["clusterName", "builderImage", "timeoutMinutes", "nodeSelector", "partition"],
    );
    const removed = validateIndexBuilderArgs({ ...args({ images: [{ repository: "web", tag: "2.0" }] }), nodeRoleArn: "arn:aws:iam::1:role/x", hostPaths: {} } as unknown as Args);
    assert.deepEqual(removed.map((p) => p.setting), ["nodeRoleArn", "hostPaths"]);
    assert.match(removed[0].fix, /own IAM role through EKS Pod Identity/);
    assert.deepEqual(settings(args({ images: [{ repository: "web", tag: "2.0" }], podIdentityAgent: "yes" as unknown as "installed" })), ["podIdentityAgent"]);
    assert.deepEqual(settings(args({ images: [], builderImage: `${REGISTRY}/b:1.0@sha256:${"f".repeat(64)}` })), ["images"]);
  });
});

describe("build hash and Job names", () => {
  const inputs = {
    sourceDigest: DIGEST_A,
    destinationRef: `${REGISTRY}/web:2.0-soci`,
    sociVersion: "0.16.1",
    minLayerSizeBytes: 10 << 20,
    spanSizeBytes: 4 << 20,
    scriptSha256: "0".repeat(64),
    builderImage: BUILDER,
  };
  it("is 10 hex characters and changes with every input", () => {
    const base = buildHash(inputs);
    assert.match(base, /^[0-9a-f]{10}$/);
    assert.equal(buildHash({ ...inputs }), base);
    for (const [k, v] of Object.entries({ sourceDigest: DIGEST_B, destinationRef: "x", sociVersion: "0.15.0", minLayerSizeBytes: 0, spanSizeBytes: 1, scriptSha256: "1", builderImage: "y" })) {
      assert.notEqual(buildHash({ ...inputs, [k]: v }), base, k);
    }
  });
  it("Job names are DNS labels of at most 63 characters", () => {
    const name = jobNameFor("team/" + "Very_Long.Repository-Name".repeat(5), "0123456789");
    assert.ok(name.length <= 63, name);
    assert.match(name, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.equal(jobNameFor("ml/trainer", "0123456789"), "soci-index-trainer-0123456789");
  });
});
