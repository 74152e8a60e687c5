import { strict as assert } from "assert";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, any>;
  provider?: string;
}
const resources: Recorded[] = [];

pulumi.runtime.setMocks(
  {
    newResource(args) {
      resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
      return { id: `${args.name}-id`, state: { ...args.inputs } };
    },
    call(args) {
      throw new Error(`unmocked invoke ${args.token}`);
    },
  },
  "soci-eks",
  "test",
  false,
);

// eslint-disable-next-line @typescript-eslint/no-var-requires
const { PullCheck, PULL_CHECK_DEFAULT_IMAGES, validatePullCheckArgs } = require("../../components/pullCheck") as typeof import("../../components/pullCheck");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const k8s = require("@pulumi/kubernetes") as typeof import("@pulumi/kubernetes");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { SociConfigError } = require("../../validation/problems") as typeof import("../../validation/problems");

import { K8S_JOB as JOB, K8S_NAMESPACE as NS } from "../helpers/resourceTypes";

async function settle(quietMs = 60): Promise<void> {
  let last = -1;
  while (last !== resources.length) {
    last = resources.length;
    await new Promise((r) => setTimeout(r, quietMs));
  }
}
const jobsOf = (prefix: string) => resources.filter((r) => r.type === JOB && r.name.startsWith(`${prefix}-`));

describe("PullCheck graph", () => {
  beforeEach(() => {
    resources.length = 0;
  });

  it("one Job per node group and variant, pinned to the group, pulling with imagePullPolicy Always", async () => {
    new PullCheck("pc", {
      nodeGroups: [
        { id: "lazy", nodeGroupName: "soci-lazy-ng" },
        { id: "stock", nodeGroupName: pulumi.output("stock-ng-7c1f") }, // an Output, as SociNodeGroup gives it
      ],
    });
    await settle();
    const jobs = jobsOf("pc");
    assert.equal(jobs.length, 4);
    assert.equal(resources.filter((r) => r.type === NS).length, 1);
    const byName = Object.fromEntries(jobs.map((j) => [j.inputs.metadata.name, j.inputs]));
    assert.deepEqual(Object.keys(byName).sort(), ["pull-lazy-indexed-1", "pull-lazy-plain-1", "pull-stock-indexed-1", "pull-stock-plain-1"]);
    const lazyIndexed = byName["pull-lazy-indexed-1"];
    const pod = lazyIndexed.spec.template.spec;
    assert.deepEqual(pod.nodeSelector, { "eks.amazonaws.com/nodegroup": "soci-lazy-ng" });
    assert.deepEqual(byName["pull-stock-plain-1"].spec.template.spec.nodeSelector, { "eks.amazonaws.com/nodegroup": "stock-ng-7c1f" });
    assert.equal(pod.containers[0].image, PULL_CHECK_DEFAULT_IMAGES.indexed);
    assert.equal(byName["pull-lazy-plain-1"].spec.template.spec.containers[0].image, PULL_CHECK_DEFAULT_IMAGES.plain);
    for (const j of jobs) {
      const c = j.inputs.spec.template.spec.containers[0];
      assert.equal(c.imagePullPolicy, "Always");
      assert.deepEqual(c.command, ["/bin/sh", "-c", "true"]);
      assert.equal(j.inputs.metadata.namespace, "soci-eks-pullcheck");
      assert.equal(j.inputs.metadata.annotations["pulumi.com/skipAwait"], "true");
      assert.equal(j.inputs.spec.template.spec.restartPolicy, "Never");
      assert.equal(j.inputs.spec.completions, 1);
    }
    assert.match(PULL_CHECK_DEFAULT_IMAGES.indexed, /-soci$/);
    assert.equal(PULL_CHECK_DEFAULT_IMAGES.plain, PULL_CHECK_DEFAULT_IMAGES.indexed.replace(/-soci$/, ""));
  });

  it("no two pods of one check share a node (the variants share layers)", async () => {
    new PullCheck("aff", { nodeGroups: [{ id: "lazy", nodeGroupName: "ng" }], replicas: 3 });
    await settle();
    for (const j of jobsOf("aff")) {
      const terms = j.inputs.spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution;
      assert.deepEqual(terms, [{ labelSelector: { matchLabels: { "soci-eks/pull-check": "aff" } }, topologyKey: "kubernetes.io/hostname" }]);
      assert.equal(j.inputs.spec.template.metadata.labels["soci-eks/pull-check"], "aff");
      assert.equal(j.inputs.spec.completions, 3);
      assert.equal(j.inputs.spec.parallelism, 3);
    }
  });

  it("options: images, runId, command, tolerations, namespace, waiting, provider", async () => {
    const provider = new k8s.Provider("kube", { kubeconfig: "{}" });
    new PullCheck(
      "opt",
      {
        nodeGroups: [{ id: "lazy", nodeGroupName: "ng", tolerations: [{ key: "soci", operator: "Exists", effect: "NoSchedule" }] }],
        images: { mine: "123456789012.dkr.ecr.us-west-2.amazonaws.com/app:v1-soci" },
        runId: "2",
        command: ["python3", "-c", "import torch"],
        namespace: "bench",
        createNamespace: false,
        waitForCompletion: true,
        kubernetesProvider: provider,
      },
    );
    await settle();
    const [job] = jobsOf("opt");
    assert.equal(jobsOf("opt").length, 1);
    assert.equal(job.inputs.metadata.name, "pull-lazy-mine-2");
    assert.equal(job.inputs.metadata.namespace, "bench");
    assert.equal(job.inputs.metadata.annotations["pulumi.com/skipAwait"], undefined);
    const pod = job.inputs.spec.template.spec;
    assert.deepEqual(pod.tolerations, [{ key: "soci", operator: "Exists", effect: "NoSchedule" }]);
    assert.deepEqual(pod.containers[0].command, ["python3", "-c", "import torch"]);
    assert.equal(pod.containers[0].image, "123456789012.dkr.ecr.us-west-2.amazonaws.com/app:v1-soci");
    assert.equal(resources.filter((r) => r.type === NS).length, 0);
    assert.match(job.provider ?? "", /pulumi:providers:kubernetes::kube::/);
  });

  it("a kubeconfig makes a provider under the component for the namespace and the Jobs", async () => {
    new PullCheck("kc", { nodeGroups: [{ id: "lazy", nodeGroupName: "ng" }], kubeconfig: "{}" });
    await settle();
    assert.ok(resources.some((r) => r.type === "pulumi:providers:kubernetes" && r.name === "kc-k8s"));
    const kids = resources.filter((r) => r.type.startsWith("kubernetes:") && r.name.startsWith("kc-"));
    assert.equal(kids.length, 3);
    for (const k of kids) assert.match(k.provider ?? "", /pulumi:providers:kubernetes::kc-k8s::/);
  });

  it("a new runId gives new Job names, so the pulls happen again", async () => {
    new PullCheck("r1", { nodeGroups: [{ id: "lazy", nodeGroupName: "ng" }] });
    new PullCheck("r2", { nodeGroups: [{ id: "lazy", nodeGroupName: "ng" }], runId: "2" });
    await settle();
    const names = (p: string) => jobsOf(p).map((j) => j.inputs.metadata.name).sort();
    assert.deepEqual(names("r1"), ["pull-lazy-indexed-1", "pull-lazy-plain-1"]);
    assert.deepEqual(names("r2"), ["pull-lazy-indexed-2", "pull-lazy-plain-2"]);
  });

  it("bad arguments throw one SociConfigError before anything is registered", () => {
    const before = resources.length;
    assert.throws(
      () =>
        new PullCheck("bad", {
          nodeGroups: [{ id: "Lazy", nodeGroupName: "ng" }, { id: "x", nodeGroupName: "" }, { id: "x", nodeGroupName: "ng" }],
          images: { "Bad Name": "a b" },
          replicas: 0,
          runId: "Run_1",
        }),
      (err: Error) => {
        assert.ok(err instanceof SociConfigError);
        for (const re of [
          /nodeGroups\[0\]\.id: 'Lazy' is not a DNS label/,
          /nodeGroups\[1\]\.nodeGroupName: '' is missing/,
          /nodeGroups\[2\]\.id: 'x' is used twice/,
          /images\.Bad Name:? .*variant name/,
          /images\.Bad Name: 'a b' is not an image reference/,
          /replicas: 0 is not an integer from 1 to 100/,
          /runId: 'Run_1' is not a DNS label/,
        ]) {
          assert.match(err.message, re);
        }
        return true;
      },
    );
    assert.equal(resources.length, before);
    assert.match(validatePullCheckArgs({ nodeGroups: [] })[0].reason, /is empty/);
  });
});
