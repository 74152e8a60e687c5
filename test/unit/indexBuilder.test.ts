import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { readFileSync } from "fs";
import * as path from "path";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";

const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
  provider?: string;
}

const ACCOUNT = "123456789012";
const REGION = "us-west-2";
const REGISTRY = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com`;
const DIGEST_A = `sha256:${"a".repeat(64)}`;
const DIGEST_B = `sha256:${"b".repeat(64)}`;

/** What ECR holds, keyed `repository:tag`; tests change it to simulate a new push. */
const ecr = new Map<string, string>();
const resources: Recorded[] = [];
const invokes: { token: string; inputs: Record<string, any> }[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
      return { id: `${args.name}-id`, state: { ...args.inputs } };
    },
    call(args) {
      invokes.push({ token: args.token, inputs: args.inputs });
      if (args.token !== "aws:ecr/getImage:getImage") throw new Error(`unmocked invoke ${args.token}`);
      const { repositoryName, imageTag, imageDigest } = args.inputs;
      const digest = imageDigest ?? ecr.get(`${repositoryName}:${imageTag}`);
      const known = [...ecr.entries()].some(([k, d]) => k.startsWith(`${repositoryName}:`) && d === digest);
      if (!digest || !known) {
        // The text ECR's DescribeImages returns for a missing tag.
        throw new Error(
          `ImageNotFoundException: The image with imageId {imageDigest:'null', imageTag:'${imageTag}'} does not exist within the repository with name '${repositoryName}' in the registry with id '${ACCOUNT}'`,
        );
      }
      return {
        id: `${repositoryName}@${digest}`,
        imageDigest: digest,
        imageTag,
        imageTags: imageTag ? [imageTag] : [],
        imagePushedAt: 1760000000,
        imageSizeInBytes: 3_000_000_000,
        imageUri: `${REGISTRY}/${repositoryName}@${digest}`,
        registryId: ACCOUNT,
        region: REGION,
        repositoryName,
      };
    },
  },
  "soci-eks",
  "test",
  false,
);

// Load after the mocks.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const mod: typeof import("../../components/sociIndexBuilder") = require("../../components/sociIndexBuilder");
const { SociIndexBuilder, buildHash, jobNameFor, resolveSourceImage, validateIndexBuilderArgs } = mod;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { SociConfigError } = require("../../validation/problems") as typeof import("../../validation/problems");

function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => resolve(v)));
}

async function settle(quietMs = 60): Promise<void> {
  let last = -1;
  while (last !== resources.length) {
    last = resources.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}

function ofType(type: string, prefix: string): Recorded[] {
  return resources.filter((r) => r.type === type && r.name.startsWith(prefix));
}

const JOB = "kubernetes:batch/v1:Job";
const CM = "kubernetes:core/v1:ConfigMap";
const NS = "kubernetes:core/v1:Namespace";
const POLICY = "aws:iam/rolePolicy:RolePolicy";

async function build(name: string, args: import("../../components/sociIndexBuilder").SociIndexBuilderArgs) {
  const builder = new SociIndexBuilder(name, args);
  const results = await promiseOf(builder.results);
  await settle();
  return { builder, results, jobs: ofType(JOB, `${name}-`) };
}

describe("SociIndexBuilder graph", () => {
  beforeEach(() => {
    ecr.clear();
    ecr.set("ml/trainer:v1", DIGEST_A);
    ecr.set("web:2.0", DIGEST_B);
  });

  it("creates a namespace, the script ConfigMap and one Job per image, under the component", async () => {
    const { results, jobs } = await build("one", { images: [{ repository: "ml/trainer", tag: "v1" }, { repository: "web", tag: "2.0" }] });
    assert.equal(jobs.length, 2);
    assert.equal(ofType(CM, "one-").length, 1);
    assert.equal(ofType(NS, "one-").length, 1);
    assert.equal(ofType("soci-eks:index:SociIndexBuilder", "one").length, 1);
    assert.equal(ofType(POLICY, "one-").length, 0, "no IAM policy without nodeRoleName");
    assert.deepEqual(
      results.map((r) => [r.sourceRef, r.destinationRef]),
      [
        [`${REGISTRY}/ml/trainer@${DIGEST_A}`, `${REGISTRY}/ml/trainer:v1-soci`],
        [`${REGISTRY}/web@${DIGEST_B}`, `${REGISTRY}/web:2.0-soci`],
      ],
    );
    const ns = ofType(NS, "one-")[0];
    assert.equal(ns.inputs.metadata.name, "soci-eks-index");
    assert.equal(ns.inputs.metadata.labels["pod-security.kubernetes.io/enforce"], "privileged");
  });

  it("the Job runs the mounted script on a SOCI node, privileged, with the node's containerd, soci, nerdctl and ECR helper", async () => {
    const { jobs } = await build("spec", { images: [{ repository: "ml/trainer", tag: "v1" }] });
    const job = jobs[0].inputs;
    const pod = job.spec.template.spec;
    assert.equal(job.metadata.namespace, "soci-eks-index");
    assert.match(job.metadata.name, /^soci-index-trainer-[0-9a-f]{10}$/);
    assert.deepEqual(pod.nodeSelector, { "soci-eks/mode": "lazy" });
    assert.equal(pod.restartPolicy, "Never");
    assert.equal(pod.hostNetwork, true);
    assert.equal(pod.dnsPolicy, "ClusterFirstWithHostNet");
    assert.equal(pod.automountServiceAccountToken, false);
    assert.equal(job.spec.backoffLimit, 1);
    assert.equal(job.spec.activeDeadlineSeconds, 3600);
    assert.equal(job.spec.ttlSecondsAfterFinished, undefined);
    const [c] = pod.containers;
    assert.equal(c.image, "public.ecr.aws/amazonlinux/amazonlinux:2023");
    assert.deepEqual(c.command, ["/bin/bash", "/opt/soci-eks/build-soci-index.sh"]);
    assert.equal(c.securityContext.privileged, true);
    const env = Object.fromEntries(c.env.map((e: any) => [e.name, e.value]));
    assert.equal(env.SRC_REF, `${REGISTRY}/ml/trainer@${DIGEST_A}`);
    assert.equal(env.DST_REF, `${REGISTRY}/ml/trainer:v1-soci`);
    assert.equal(env.SOCI_VERSION, "0.16.1");
    assert.equal(env.MIN_LAYER_SIZE, String(10 * 1024 * 1024));
    assert.equal(env.SPAN_SIZE, String(2 * 1024 * 1024));
    assert.equal(env.CONTAINERD_ADDRESS, "/run/containerd/containerd.sock");
    assert.equal(env.SOCI_BIN, "/host/usr/local/bin/soci");
    assert.equal(env.NERDCTL_BIN, "/host/usr/bin/nerdctl");
    assert.equal(env.PATH, "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/host/usr/local/bin:/host/usr/bin");
    const volumes = Object.fromEntries(pod.volumes.map((v: any) => [v.name, v]));
    assert.deepEqual(volumes["containerd-socket"].hostPath, { path: "/run/containerd/containerd.sock", type: "Socket" });
    // soci's and nerdctl's directories (the credential helper shares /usr/bin), not the files: see hostBinaryMounts.
    assert.deepEqual(volumes["host-bin-0"].hostPath, { path: "/usr/local/bin", type: "Directory" });
    assert.deepEqual(volumes["host-bin-1"].hostPath, { path: "/usr/bin", type: "Directory" });
    assert.equal(volumes["host-bin-2"], undefined);
    assert.deepEqual(volumes["docker-config"].hostPath, { path: "/root/.docker", type: "Directory" });
    assert.deepEqual(volumes.work.emptyDir, {});
    const cmName = ofType(CM, "spec-")[0].inputs.metadata.name;
    assert.deepEqual(volumes.script.configMap, { name: cmName, defaultMode: 0o555 });
    const mounts = Object.fromEntries(c.volumeMounts.map((m: any) => [m.name, m.mountPath]));
    assert.equal(mounts["containerd-socket"], "/run/containerd/containerd.sock");
    assert.equal(mounts["host-bin-0"], "/host/usr/local/bin");
    assert.equal(mounts["host-bin-1"], "/host/usr/bin");
    assert.equal(mounts.script, "/opt/soci-eks");
    for (const m of c.volumeMounts) if (m.name.startsWith("host-bin") || m.name === "docker-config") assert.equal(m.readOnly, true, m.name);
    for (const m of c.volumeMounts) assert.ok(Object.keys(volumes).includes(m.name), `mount ${m.name} has a volume`);
    assert.equal(job.metadata.annotations["soci-eks/source"], env.SRC_REF);
    assert.equal(job.metadata.annotations["soci-eks/destination"], env.DST_REF);
  });

  it("the ConfigMap holds components/scripts/build-soci-index.sh byte for byte, immutable, named by its hash", async () => {
    await build("cm", { images: [{ repository: "web", tag: "2.0" }] });
    const cm = ofType(CM, "cm-")[0].inputs;
    const file = readFileSync(path.join(REPO_ROOT, "components/scripts/build-soci-index.sh"), "utf8");
    assert.equal(cm.data["build-soci-index.sh"], file);
    assert.equal(cm.immutable, true);
    assert.match(cm.metadata.name, /^soci-index-builder-[0-9a-f]{10}$/);
  });

  it("same digest gives the same Job name; a new digest behind the same tag gives a new one", async () => {
    const first = await build("d1", { images: [{ repository: "ml/trainer", tag: "v1" }] });
    const again = await build("d2", { images: [{ repository: "ml/trainer", tag: "v1" }] });
    assert.equal(first.results[0].jobName, again.results[0].jobName);
    assert.equal(first.jobs[0].inputs.metadata.name, first.results[0].jobName);

    ecr.set("ml/trainer:v1", `sha256:${"c".repeat(64)}`); // a new push to the same tag
    const pushed = await build("d3", { images: [{ repository: "ml/trainer", tag: "v1" }] });
    assert.notEqual(pushed.results[0].jobName, first.results[0].jobName);
    assert.equal(pushed.results[0].sourceDigest, `sha256:${"c".repeat(64)}`);
    // The logical Pulumi name stays put, so the engine replaces the Job instead of adding one.
    assert.equal(pushed.jobs[0].name.replace(/^d3/, ""), first.jobs[0].name.replace(/^d1/, ""));
  });

  it("the soci version and the convert options are part of the Job name", async () => {
    const base = (await build("o1", { images: [{ repository: "web", tag: "2.0" }] })).results[0].jobName;
    const version = (await build("o2", { images: [{ repository: "web", tag: "2.0" }], sociVersion: "0.15.0" })).results[0].jobName;
    const minLayer = (await build("o3", { images: [{ repository: "web", tag: "2.0" }], minLayerSizeBytes: 0 })).results[0].jobName;
    const span = (await build("o4", { images: [{ repository: "web", tag: "2.0" }], spanSizeBytes: 1 << 20 })).results[0].jobName;
    const dest = (await build("o5", { images: [{ repository: "web", tag: "2.0", destinationTag: "2.0-lazy" }] })).results[0].jobName;
    assert.equal(new Set([base, version, minLayer, span, dest]).size, 5);
  });

  it("a digest source is pulled by that digest and tagged soci-<12 hex> by default", async () => {
    const { results, jobs } = await build("dg", { images: [{ repository: "web", digest: DIGEST_B }] });
    assert.equal(results[0].destinationRef, `${REGISTRY}/web:soci-${"b".repeat(12)}`);
    const lookup = invokes.filter((i) => i.inputs.imageDigest === DIGEST_B).pop();
    assert.ok(lookup, "looked up by digest");
    assert.equal(lookup.inputs.imageTag, undefined);
    assert.match(jobs[0].inputs.metadata.name, /^soci-index-web-[0-9a-f]{10}$/);
  });

  it("options reach the Job: selector, tolerations, image, timeout, host paths, namespace", async () => {
    const { jobs } = await build("opt", {
      images: [{ repository: "web", tag: "2.0" }],
      nodeSelector: { "eks.amazonaws.com/nodegroup": "soci-big" },
      tolerations: [{ key: "soci", operator: "Exists", effect: "NoSchedule" }],
      builderImage: "123456789012.dkr.ecr.us-west-2.amazonaws.com/al2023:latest",
      timeoutMinutes: 90,
      namespace: "builds",
      createNamespace: false,
      hostPaths: { nerdctl: "/usr/local/bin/nerdctl" },
    });
    const job = jobs[0].inputs;
    const pod = job.spec.template.spec;
    assert.deepEqual(pod.nodeSelector, { "eks.amazonaws.com/nodegroup": "soci-big" });
    assert.deepEqual(pod.tolerations, [{ key: "soci", operator: "Exists", effect: "NoSchedule" }]);
    assert.equal(pod.containers[0].image, "123456789012.dkr.ecr.us-west-2.amazonaws.com/al2023:latest");
    assert.equal(job.spec.activeDeadlineSeconds, 5400);
    assert.equal(job.metadata.namespace, "builds");
    assert.equal(ofType(NS, "opt-").length, 0);
    assert.deepEqual(pod.volumes.filter((v: any) => v.name.startsWith("host-bin")).map((v: any) => v.hostPath.path), ["/usr/local/bin", "/usr/bin"]);
    assert.equal(pod.containers[0].env.find((e: any) => e.name === "NERDCTL_BIN").value, "/host/usr/local/bin/nerdctl");
  });

  it("with nodeRoleName, the node role may push to exactly the destination repositories", async () => {
    await build("iam", { images: [{ repository: "ml/trainer", tag: "v1" }, { repository: "web", tag: "2.0" }], nodeRoleName: "soci-nodes-role" });
    const [policy] = ofType(POLICY, "iam-");
    assert.equal(policy.inputs.role, "soci-nodes-role");
    const doc = JSON.parse(policy.inputs.policy);
    const push = doc.Statement.find((s: any) => s.Sid === "SociIndexPush");
    assert.deepEqual(push.Resource, [
      `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/ml/trainer`,
      `arn:aws:ecr:${REGION}:${ACCOUNT}:repository/web`,
    ]);
    assert.ok(push.Action.includes("ecr:PutImage"));
    await build("iam2", { images: [{ repository: "web", tag: "2.0" }], nodeRoleArn: pulumi.output("arn:aws:iam::123456789012:role/eks/soci-lazy-role-5f3a") });
    assert.equal(ofType(POLICY, "iam2-")[0].inputs.role, "soci-lazy-role-5f3a");
    assert.ok(push.Action.includes("ecr:CompleteLayerUpload"));
  });
});

describe("SociIndexBuilder providers", () => {
  beforeEach(() => {
    ecr.clear();
    ecr.set("web:2.0", DIGEST_B);
  });
  it("a kubeconfig makes a Kubernetes provider under the component, used by every Kubernetes child", async () => {
    new SociIndexBuilder("kc", { images: [{ repository: "web", tag: "2.0" }], kubeconfig: '{"apiVersion":"v1"}' });
    await settle();
    const provider = resources.find((r) => r.type === "pulumi:providers:kubernetes" && r.name === "kc-k8s");
    assert.ok(provider, "provider kc-k8s");
    assert.equal(provider.inputs.kubeconfig, '{"apiVersion":"v1"}');
    const kids = resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("kc-"));
    assert.equal(kids.length, 3);
    for (const k of kids) assert.match(k.provider ?? "", /pulumi:providers:kubernetes::kc-k8s::/, k.name);
  });
});

describe("SociIndexBuilder errors", () => {
  beforeEach(() => {
    ecr.clear();
    ecr.set("web:2.0", DIGEST_B);
  });

  it("a missing tag is an error at preview naming the repository and tag", async () => {
    await assert.rejects(
      resolveSourceImage({ repository: "web", tag: "does-not-exist" }, {}, "SociIndexBuilder 'x'"),
      (err: Error) => {
        // The engine appends ECR's own text ("ECR said: ..."); the mock monitor drops invoke error messages.
        assert.match(err.message, /^SociIndexBuilder 'x': source image web:does-not-exist was not found in ECR\. Push it first/);
        return true;
      },
    );
  });

  it("the component fails the Pulumi program with that error, and registers no Job", () => {
    // Run as a program of its own: the failed registrations surface as unhandled rejections, which is how the
    // Node.js language host fails a `pulumi preview`, and which node:test would pin on whichever test runs next.
    const program = `
      const pulumi = require("@pulumi/pulumi");
      const jobs = [];
      pulumi.runtime.setMocks({
        newResource: (a) => { if (a.type === "${JOB}") jobs.push(a.name); return { id: a.name, state: a.inputs }; },
        call: () => { throw new Error("ImageNotFoundException"); },
      }, "soci-eks", "test", true);
      const { SociIndexBuilder } = require(${JSON.stringify(path.join(REPO_ROOT, "dist/components/sociIndexBuilder"))});
      const errors = new Set();
      process.on("unhandledRejection", (e) => errors.add(String(e && e.message || e)));
      new SociIndexBuilder("missing", { images: [{ repository: "nope/app", tag: "v9" }] });
      setTimeout(() => { console.log(JSON.stringify({ errors: [...errors], jobs })); }, 1000);
    `;
    const r = spawnSync(process.execPath, ["-e", program], { cwd: REPO_ROOT, encoding: "utf8" });
    const line = r.stdout.trim().split("\n").pop() ?? "";
    assert.match(line, /^\{"errors"/, r.stderr);
    const out = JSON.parse(line);
    assert.ok(out.errors.length > 0, "the program fails");
    for (const m of out.errors) assert.match(m, /SociIndexBuilder 'missing': source image nope\/app:v9 was not found in ECR/);
    assert.deepEqual(out.jobs, []);
  });

  it("bad arguments throw one SociConfigError before anything is registered", () => {
    const before = resources.length;
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
          ],
          minLayerSizeBytes: -1,
        }),
      (err: Error) => {
        assert.ok(err instanceof SociConfigError);
        assert.match(err.message, /images\[0\]\.repository: 'Web' is not an ECR repository name/);
        assert.match(err.message, /images\[1\]:? has neither tag nor digest/);
        assert.match(err.message, /images\[2\]\.destinationTag: 'v1' equals the source tag/);
        assert.match(err.message, /images\[3\]\.digest: 'sha256:abc' is not a sha256 digest/);
        assert.match(err.message, /images\[5\]\.destinationTag: 'same' is also the destination of images\[4\]/);
        assert.match(err.message, /minLayerSizeBytes: -1 is not an integer >= 0/);
        return true;
      },
    );
    assert.equal(resources.length, before);
    assert.deepEqual(validateIndexBuilderArgs({ images: [{ repository: "web", tag: "2.0" }] }), []);
    const more = validateIndexBuilderArgs({
      images: [{ repository: "web", tag: "2.0" }],
      hostPaths: { nerdctl: "usr/bin/nerdctl", soci: "/usr/local/bin/" },
      builderImage: "amazon linux",
      nodeSelector: {},
      timeoutMinutes: 0,
    }).map((p) => p.setting);
    assert.deepEqual(more, ["timeoutMinutes", "hostPaths.nerdctl", "hostPaths.soci", "builderImage", "nodeSelector"]);
    assert.match(validateIndexBuilderArgs({ images: [] })[0].reason, /is empty/);
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
  };
  it("is 10 hex characters and changes with every input", () => {
    const base = buildHash(inputs);
    assert.match(base, /^[0-9a-f]{10}$/);
    assert.equal(buildHash({ ...inputs }), base);
    for (const [k, v] of Object.entries({ sourceDigest: DIGEST_B, destinationRef: "x", sociVersion: "0.15.0", minLayerSizeBytes: 0, spanSizeBytes: 1, scriptSha256: "1" })) {
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
