import { strict as assert } from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { parse } from "smol-toml";
import { bottlerocketModeError, renderUserData } from "../../userdata";
import { clusterDnsIp } from "../../userdata/bottlerocket";
import { bootstrapOptions } from "../helpers/options";
import { REPO_ROOT } from "../helpers/sociWiring";

type Rule = { enum?: unknown[]; type?: string; pattern?: string };
const reference = JSON.parse(readFileSync(path.join(REPO_ROOT, "test/fixtures/bottlerocket/settings-reference.json"), "utf8")) as Record<string, Rule | string | string[]>;

/** Every leaf key path of a parsed TOML document, with its value. */
function leaves(value: unknown, prefix = ""): [string, unknown][] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value]];
}

/** Checks every key against the settings reference; returns the problems. */
function referenceProblems(toml: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of leaves(parse(toml))) {
    const rule = (reference[key] ?? reference[key.replace(/\.[^.]+$/, ".*")]) as Rule | undefined;
    if (!rule || typeof rule !== "object" || Array.isArray(rule)) {
      problems.push(`${key} is not in the Bottlerocket settings reference`);
      continue;
    }
    if (rule.enum && !rule.enum.includes(value)) problems.push(`${key}=${String(value)} not in ${rule.enum.join("|")}`);
    if (rule.type === "integer" && !Number.isInteger(typeof value === "bigint" ? Number(value) : value)) problems.push(`${key} is not an integer`);
    if (rule.type === "boolean" && typeof value !== "boolean") problems.push(`${key} is not a boolean`);
    if (rule.type === "string" && typeof value !== "string") problems.push(`${key} is not a string`);
    if (rule.type === "array" && !Array.isArray(value)) problems.push(`${key} is not an array`);
    if (rule.pattern && !new RegExp(rule.pattern).test(String(value))) problems.push(`${key}=${String(value)} does not match ${rule.pattern}`);
  }
  return problems;
}

const cluster = { name: "c", apiServerEndpoint: "https://x.eks.amazonaws.com", certificateAuthority: "Y2E=", serviceCidr: "10.100.0.0/16" };

describe("Bottlerocket user data", () => {
  for (const architecture of ["x86_64", "arm64"] as const) {
    it(`parallel mode (${architecture}): SOCI snapshotter with parallel pull sized from the instance`, () => {
      const ud = renderUserData("bottlerocket", bootstrapOptions({ mode: "parallel", architecture }));
      assert.equal(ud.format, "toml");
      const doc = parse(ud.text) as any;
      assert.equal(doc.settings["container-runtime"].snapshotter, "soci");
      const soci = doc.settings["container-runtime-plugins"]["soci-snapshotter"];
      assert.equal(soci["pull-mode"], "parallel-pull-unpack");
      assert.equal(soci["parallel-pull-unpack"]["max-concurrent-downloads-per-image"], 8);
      assert.equal(soci["parallel-pull-unpack"]["concurrent-download-chunk-size"], "64mb");
      assert.equal(soci["parallel-pull-unpack"]["max-concurrent-unpacks-per-image"], 4);
      assert.deepEqual(referenceProblems(ud.text), []);
    });
  }

  it("every key of a fully loaded document is in the settings reference", () => {
    const ud = renderUserData(
      "bottlerocket",
      bootstrapOptions({
        mode: "parallel",
        cluster,
        labels: { team: "ml" },
        taints: [{ key: "workload", value: "big-images", effect: "NoSchedule" }],
        localStorage: { raid0: true },
      }),
    );
    assert.deepEqual(referenceProblems(ud.text), []);
  });

  it("the reference check can fail", () => {
    assert.deepEqual(referenceProblems('[settings.container-runtime]\nsnapshotter = "stargz"\nbogus = 1\n'), [
      "settings.container-runtime.snapshotter=stargz not in overlayfs|soci",
      "settings.container-runtime.bogus is not in the Bottlerocket settings reference",
    ]);
  });

  it("off mode: no SOCI settings", () => {
    const doc = parse(renderUserData("bottlerocket", bootstrapOptions({ mode: "off", cluster })).text) as any;
    assert.equal(doc.settings["container-runtime"], undefined);
    assert.equal(doc.settings["container-runtime-plugins"], undefined);
    assert.equal(doc.settings.kubernetes["cluster-name"], "c");
  });

  it("lazy mode is a clear error: Bottlerocket has no lazy loading", () => {
    assert.match(bottlerocketModeError("lazy")!, /sociMode: 'lazy' is not available on Bottlerocket .* Set sociMode to parallel or off, or use os al2023\./);
    assert.equal(bottlerocketModeError("parallel"), undefined);
    assert.throws(() => renderUserData("bottlerocket", bootstrapOptions({ mode: "lazy" })), /not available on Bottlerocket/);
  });

  it("ssd: ephemeral-storage bootstrap commands put containerd, kubelet, pod logs and SOCI on the array", () => {
    const doc = parse(renderUserData("bottlerocket", bootstrapOptions({ mode: "parallel", localStorage: { raid0: true } })).text) as any;
    const cmd = doc.settings["bootstrap-commands"]["k8s-ephemeral-storage"];
    assert.deepEqual(cmd.commands, [
      ["apiclient", "ephemeral-storage", "init"],
      ["apiclient", "ephemeral-storage", "bind", "--dirs", "/var/lib/containerd", "/var/lib/kubelet", "/var/log/pods", "/var/lib/soci-snapshotter"],
    ]);
    assert.equal(cmd.essential, true);
    assert.equal(cmd.mode, "always");
    const keep = parse(
      renderUserData("bottlerocket", bootstrapOptions({ mode: "parallel", localStorage: { raid0: true, keepSociOnRootVolume: true } })).text,
    ) as any;
    assert.equal(keep.settings["bootstrap-commands"]["k8s-ephemeral-storage"].commands[1].includes("/var/lib/soci-snapshotter"), false);
  });

  it("cluster fields, DNS address, labels and taints", () => {
    const doc = parse(
      renderUserData(
        "bottlerocket",
        bootstrapOptions({ mode: "parallel", cluster, labels: { b: "2", a: "1" }, taints: [{ key: "w", value: "big", effect: "NoExecute" }] }),
      ).text,
    ) as any;
    assert.equal(doc.settings.kubernetes["api-server"], cluster.apiServerEndpoint);
    assert.equal(doc.settings.kubernetes["cluster-dns-ip"], "10.100.0.10");
    assert.deepEqual({ ...doc.settings.kubernetes["node-labels"] }, { a: "1", b: "2" });
    assert.deepEqual(doc.settings.kubernetes["node-taints"].w, ["big:NoExecute"]);
  });

  it("derives the cluster DNS address from the service CIDR", () => {
    assert.equal(clusterDnsIp("172.20.0.0/16"), "172.20.0.10");
    assert.equal(clusterDnsIp("10.100.0.0/16"), "10.100.0.10");
    assert.throws(() => clusterDnsIp("fd00::/108"), /not an IPv4 CIDR/);
  });

  it("the registry dispatches by family and names the families it has on an unknown one", () => {
    assert.equal(renderUserData("al2023", bootstrapOptions()).format, "mime-multipart");
    assert.equal(renderUserData("bottlerocket", bootstrapOptions({ mode: "parallel" })).format, "toml");
    assert.throws(() => renderUserData("windows" as never, bootstrapOptions()), /no user-data renderer for OS family 'windows' \(have: al2023, bottlerocket\)/);
  });
});
