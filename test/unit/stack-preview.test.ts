import { strict as assert } from "assert";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { countByType, installMocks, ofType, promiseOf, settle } from "../helpers/mocks";
import { cloudConfigFiles, parseMime } from "../helpers/userdata";

// preview = true: outputs the mocks do not return would be unknown; the mocks return every property read.
const mocks = installMocks(true);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const program: () => Promise<{ clusterName: pulumi.Output<string>; kubeconfig: pulumi.Output<string>; nodeGroupNames: pulumi.Output<string[]> }> = require("../../index");

describe("example stack during preview", () => {
  it("registers the same graph and resolves the stack outputs", async () => {
    assert.equal(pulumi.runtime.isDryRun(), true);
    pulumi.runtime.setAllConfig({ "soci-eks:instanceType": "m7g.xlarge", "soci-eks:sociMode": "parallel", "soci-eks:sociSha256": TEST_ONLY_SOCI_SHA256 });
    const out = await program();
    assert.equal(await promiseOf(out.clusterName), "soci-eks-eks-cluster");
    assert.deepEqual(await promiseOf(out.nodeGroupNames), ["soci-eks-default-ng-1234567"]);
    await settle(mocks);
    const counts = countByType(mocks);
    assert.equal(counts["aws:eks/nodeGroup:NodeGroup"], 1);
    assert.equal(counts["aws:ec2/launchTemplate:LaunchTemplate"], 1);
    assert.equal(counts["aws:ec2/subnet:Subnet"], 4);
    const ng = ofType(mocks, "aws:eks/nodeGroup:NodeGroup")[0].inputs;
    assert.equal(ng.amiType, "AL2023_ARM_64_STANDARD");
    assert.equal(ng.labels["soci-eks/mode"], "parallel");
    const lt = ofType(mocks, "aws:ec2/launchTemplate:LaunchTemplate")[0].inputs;
    const text = Buffer.from(lt.userData, "base64").toString();
    assert.equal((await parseMime(text)).length, 3);
    const env = (await cloudConfigFiles(text)).find((f) => f.path === "/etc/soci-eks/install.env")!;
    assert.match(env.content, /SOCI_EKS_ARCH='arm64'/);
  });
});
