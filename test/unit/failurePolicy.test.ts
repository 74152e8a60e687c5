import { strict as assert } from "assert";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, promiseOf, settle } from "../helpers/mocks";
import { cloudConfigFiles } from "../helpers/userdata";
import { main } from "../../cli/main";

const mocks = installMocks(false);
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const program: () => Promise<{ nodeGroupNames: pulumi.Output<string[]> }> = require("../../index");

const ENV = "/etc/soci-eks/install.env";
const CLI_BASE = ["userdata", "--instance-type", "m7i.xlarge", "--vcpus", "4", "--memory-mib", "16384", "--arch", "x86_64", "--soci-sha256", TEST_ONLY_SOCI_SHA256];

function cli(args: string[]): { code: number; out: string; err: string } {
  let out = "";
  let err = "";
  const code = main([...CLI_BASE, ...args], (s) => (out += s), (s) => (err += s));
  return { code, out, err };
}

/** The message of a problem with the setting's own spelling taken out: what all three front ends must share. */
function withoutSetting(message: string, setting: string): string {
  return message.split(setting).join("<setting>");
}

describe("onSociFailure (components, stack config, CLI)", () => {
  beforeEach(() => mocks.reset());

  it("components: default fallback, `fail` reaches the node's install.env", async () => {
    for (const [policy, expected] of [[undefined, "fallback"], ["fail", "fail"], ["fallback", "fallback"]] as const) {
      mocks.reset();
      const ng = await components.SociNodeGroup.create(`p-${policy ?? "default"}`, {
        soci: { sha256: TEST_ONLY_SOCI_SHA256 },
        clusterName: "k",
        subnetIds: ["subnet-a"],
        ...(policy ? { onSociFailure: policy } : {}),
      });
      const env = (await cloudConfigFiles(await promiseOf(ng.userData))).find((f) => f.path === ENV);
      assert.match(env!.content, new RegExp(`^SOCI_EKS_ON_FAILURE='${expected}'$`, "m"), String(policy));
      await settle(mocks);
    }
  });

  it("a bad value is one error naming the setting, from components, stack config and CLI alike; nothing registered", async () => {
    let componentMessage = "";
    await assert.rejects(
      components.SociNodeGroup.create("bad", { clusterName: "k", subnetIds: [], onSociFailure: "retry" as never, soci: { sha256: TEST_ONLY_SOCI_SHA256 } }),
      (e: Error) => {
        assert.ok(e instanceof components.SociConfigError);
        componentMessage = components.formatProblem(e.problems.find((p) => p.setting.endsWith("onSociFailure"))!);
        return true;
      },
    );
    assert.equal(componentMessage.startsWith("bad.onSociFailure: 'retry' is not one of fallback, fail."), true, componentMessage);
    assert.deepEqual(mocks.resources, []);

    pulumi.runtime.setAllConfig({ "soci-eks:onSociFailure": "retry", "soci-eks:sociSha256": TEST_ONLY_SOCI_SHA256 });
    let stackMessage = "";
    await assert.rejects(program(), (e: Error) => {
      const problems = (e as InstanceType<typeof components.SociConfigError>).problems.map(components.formatProblem);
      assert.equal(problems.length, 1, problems.join("\n"));
      stackMessage = problems[0];
      return true;
    });
    assert.deepEqual(mocks.resources, []);

    const r = cli(["--on-soci-failure", "retry"]);
    assert.equal(r.code, 2);
    assert.equal(r.out, "");
    // `soci-eks userdata: 1 problem; nothing was printed:` then one `  - <problem>` line per problem.
    const cliLines = r.err.split("\n").filter((l) => l.startsWith("  - "));
    assert.equal(cliLines.length, 1, r.err);
    const cliMessage = cliLines[0].slice(4);

    const expected = withoutSetting(stackMessage, "soci-eks:onSociFailure");
    assert.equal(expected, "<setting>: 'retry' is not one of fallback, fail. Set <setting> to fallback (default: the node joins without SOCI, labelled soci-eks/degraded) or fail (the node never joins).");
    assert.equal(withoutSetting(componentMessage, "bad.onSociFailure"), expected);
    assert.equal(withoutSetting(cliMessage, "--on-soci-failure"), expected);
  });

  it("stack config: the top-level value is inherited and a nodeGroups entry may override it", async () => {
    pulumi.runtime.setAllConfig({
      "soci-eks:onSociFailure": "fail",
      "soci-eks:nodeGroups": JSON.stringify([{ name: "strict" }, { name: "lenient", onSociFailure: "fallback" }]),
    });
    const cfg = components.loadStackConfig();
    assert.equal(cfg.onSociFailure, "fail");
    const { args } = components.clusterArgsFromStackConfig(cfg);
    assert.deepEqual(args.nodeGroups.map((g) => [g.name, g.onSociFailure]), [["strict", "fail"], ["lenient", "fallback"]]);
    pulumi.runtime.setAllConfig({ "soci-eks:nodeGroups": JSON.stringify([{ name: "a", onSociFailure: "never" }]) });
    await assert.rejects(program(), (e: Error) => /soci-eks:nodeGroups\[0\]\.onSociFailure: 'never' is not one of fallback, fail\./.test(e.message));
    pulumi.runtime.setAllConfig({});
    assert.equal(components.loadStackConfig().onSociFailure, "fallback");
  });

  it("CLI: --on-soci-failure fail is rendered into install.env; without it the node gets fallback", async () => {
    const strict = cli(["--on-soci-failure", "fail"]);
    assert.equal(strict.code, 0, strict.err);
    const envOf = async (text: string) => (await cloudConfigFiles(text)).find((f) => f.path === ENV)!.content;
    assert.match(await envOf(strict.out), /^SOCI_EKS_ON_FAILURE='fail'$/m);
    assert.match(await envOf(cli([]).out), /^SOCI_EKS_ON_FAILURE='fallback'$/m);
  });
});
