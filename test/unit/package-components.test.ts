/**
 * soci-eks as a Pulumi component package (components/package/, provider/): the schema @pulumi/pulumi's own
 * component-provider support infers from the source (the Analyzer behind `componentProviderHost`) is checked
 * against provider/schema.json, and the package components refuse bad settings with the same one error as the
 * TypeScript components, before registering any child resource.
 */
import { strict as assert } from "assert";
import { TEST_ONLY_SOCI_SHA256 } from "../helpers/options";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { beforeEach, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, settle } from "../helpers/mocks";
import { packageNamer } from "../../validation/settingNames";
import { declaredSettings, parityProblems, schemaSettings } from "../helpers/optionParity";

const mocks = installMocks(false);
// Components load after the mocks are installed.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const pkg: typeof import("../../components/package") = require("../../components/package");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const components: typeof import("../../components") = require("../../components");

const ROOT = path.resolve(__dirname, "..", "..", "..");
const PLUGIN_DIR = path.join(ROOT, "provider");
const EXPECTED_SCHEMA = path.join(PLUGIN_DIR, "schema.json");

/**
 * The schema @pulumi/pulumi's own component-provider support infers for the package components (the Analyzer behind
 * `componentProviderHost`, run by `ComponentProvider.getSchema` on the plugin folder): what provider/schema.json
 * must hold.
 */
async function inferredSchema(): Promise<Record<string, any>> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { ComponentProvider } = require("@pulumi/pulumi/provider/experimental");
  const analyzer = new ComponentProvider({ components: pkg.PACKAGE_COMPONENTS, name: pkg.PACKAGE_NAME, dirname: PLUGIN_DIR });
  return JSON.parse(await analyzer.getSchema());
}

let provider: InstanceType<typeof pkg.SociEksProvider> | undefined;

/** One provider for the whole file, as in the plugin process. */
function packageProvider(): InstanceType<typeof pkg.SociEksProvider> {
  provider ??= new pkg.SociEksProvider(PLUGIN_DIR);
  return provider;
}

/**
 * What the provider answers to the engine's Construct call: `SociEksProvider.construct` (the component's
 * constructor with the deserialized inputs), then the state serialized as provider/server.js does before it replies.
 */
async function construct(type: string, name: string, inputs: Record<string, unknown>): Promise<Record<string, any>> {
  const result = await packageProvider().construct(name, type, inputs, {});
  const [state] = await pulumi.runtime.serializeResourceProperties(`construct(${type}, ${name})`, result.state);
  return state;
}

/** Starts a plugin process, reads the port it prints and asks it for its schema over gRPC (as the engine does); kills it. */
async function servedSchema(command: string, args: string[]): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const grpc = require("@grpc/grpc-js");
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { ResourceProviderClient } = require("@pulumi/pulumi/proto/provider_grpc_pb");
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const { GetSchemaRequest } = require("@pulumi/pulumi/proto/provider_pb");
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  try {
    const port = await new Promise<string>((resolve, reject) => {
      child.stdout.once("data", (d: Buffer) => resolve(String(d).trim()));
      child.once("exit", (code) => reject(new Error(`provider exited with ${code}: ${stderr}`)));
    });
    assert.match(port, /^\d+$/);
    const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const served = await new Promise<string>((resolve, reject) =>
      client.getSchema(new GetSchemaRequest(), (err: Error | null, resp: { getSchema(): string }) => (err ? reject(err) : resolve(resp.getSchema()))),
    );
    client.close();
    return served;
  } finally {
    child.kill();
  }
}

/** The rejection message of a promise (fails the test when it resolves). */
async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
  assert.fail("expected a rejection");
}

describe("the component package's schema (inferred by @pulumi/pulumi's Analyzer)", () => {
  let schema: Record<string, any>;
  it("is the committed provider/schema.json, which the provider serves", async () => {
    schema = await inferredSchema();
    if (process.env.UPDATE_PACKAGE_SCHEMA === "1") fs.writeFileSync(EXPECTED_SCHEMA, JSON.stringify(schema, null, 2) + "\n");
    assert.deepEqual(schema, JSON.parse(fs.readFileSync(EXPECTED_SCHEMA, "utf8")));
    assert.deepEqual(JSON.parse(await packageProvider().getSchema()), schema);
  });

  it("has exactly the two package resources, components, with the repository's version and no dependencies", () => {
    assert.equal(schema.name, "soci-eks");
    assert.equal(schema.version, JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version);
    assert.deepEqual(Object.keys(schema.resources).sort(), ["soci-eks:index:Cluster", "soci-eks:index:NodeGroup"]);
    for (const r of Object.values<any>(schema.resources)) assert.equal(r.isComponent, true);
    assert.deepEqual(schema.dependencies ?? [], []);
  });

  it("gives NodeGroup Input-typed cluster fields, plain validated settings, and its five outputs", () => {
    const ng = schema.resources["soci-eks:index:NodeGroup"];
    assert.deepEqual(ng.requiredInputs.sort(), ["clusterName", "subnetIds"]);
    assert.deepEqual(ng.inputProperties.clusterName, { type: "string", description: "Name of the EKS cluster the nodes join." });
    assert.equal(ng.inputProperties.subnetIds.plain, undefined);
    for (const key of ["instanceType", "os", "sociMode", "capacityType", "kubernetesVersion", "ssd", "metadataHopLimit", "soci", "scaling", "taints", "labels"]) {
      assert.equal(ng.inputProperties[key].plain, true, `${key} is plain (validated before anything exists)`);
      assert.equal(ng.inputProperties[key].optional, true, `${key} is optional`);
    }
    for (const key of ["os", "sociMode", "capacityType"]) assert.equal(ng.inputProperties[key].type, "string");
    assert.equal(ng.inputProperties.instanceFacts, undefined, "instance facts are looked up, not passed");
    assert.equal(ng.inputProperties.nodeRole, undefined, "no resource references (no SDK dependency on pulumi-aws)");
    assert.deepEqual(Object.keys(ng.properties).sort(), ["architecture", "launchTemplateId", "nodeGroupName", "nodeRoleArn", "userData"]);
    for (const p of Object.values<any>(ng.properties)) assert.equal(p.type, "string");
  });

  it("gives Cluster a plain list of node groups and its outputs", () => {
    const c = schema.resources["soci-eks:index:Cluster"];
    assert.deepEqual(c.requiredInputs, ["nodeGroups"]);
    assert.deepEqual(c.inputProperties.nodeGroups.items, { $ref: "#/types/soci-eks:index:ClusterNodeGroup", plain: true });
    assert.deepEqual(Object.keys(c.properties).sort(), ["clusterName", "kubeconfig", "nodeGroupNames"]);
    assert.deepEqual(c.properties.nodeGroupNames, { type: "array", items: { type: "string" }, description: "The EKS node group names, in `nodeGroups` order." });
    const group = schema.types["soci-eks:index:ClusterNodeGroup"];
    assert.deepEqual(group.required, ["name"]);
    for (const key of ["clusterName", "subnetIds", "kubernetesVersion", "clusterConnection"]) assert.equal(group.properties[key], undefined, key);
    assert.equal(group.properties.sociMode.type, "string");
  });

  it("names its types without an Args suffix and describes their fields from the doc comments", () => {
    assert.deepEqual(Object.keys(schema.types).sort(), [
      "soci-eks:index:ClusterConnection",
      "soci-eks:index:ClusterNodeGroup",
      "soci-eks:index:RootVolume",
      "soci-eks:index:Scaling",
      "soci-eks:index:SociRelease",
      "soci-eks:index:Taint",
    ]);
    assert.equal(schema.types["soci-eks:index:Scaling"].properties.desiredSize.description, "Default 2.");
  });

  it("is what the plugin process (provider/package.json main) serves over gRPC GetSchema", async () => {
    // The process the engine starts through run-plugin: `require` of provider/ resolves package.json `main`.
    const served = await servedSchema(process.execPath, ["-e", `require(${JSON.stringify(PLUGIN_DIR)})`]);
    assert.deepEqual(JSON.parse(served), JSON.parse(fs.readFileSync(EXPECTED_SCHEMA, "utf8")));
  });

  it("runs from the packed npm package, without the TypeScript sources: run-plugin starts it and GetSchema serves the schema", async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "soci-eks-pack-"));
    try {
      // The tarball `npm pack` makes from the built tree (as `npm publish` would ship it), unpacked as an installed package.
      const pack = spawnSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", work], { cwd: ROOT, encoding: "utf8" });
      assert.equal(pack.status, 0, pack.stderr);
      const [{ filename }] = JSON.parse(pack.stdout) as { filename: string }[];
      const modules = path.join(work, "node_modules");
      fs.mkdirSync(modules);
      const untar = spawnSync("tar", ["-xzf", path.join(work, filename), "-C", modules], { encoding: "utf8" });
      assert.equal(untar.status, 0, untar.stderr);
      fs.renameSync(path.join(modules, "package"), path.join(modules, "soci-eks"));
      const installed = path.join(modules, "soci-eks");
      const sources = spawnSync("find", [installed, "-name", "*.ts", "!", "-name", "*.d.ts"], { encoding: "utf8" }).stdout.trim();
      assert.equal(sources, "", "the package ships no TypeScript sources");
      for (const f of ["PulumiPlugin.yaml", "package.json", "package-lock.json", "schema.json"]) assert.ok(fs.existsSync(path.join(installed, "provider", f)), f);
      // Its dependencies and peers, as npm would install them beside it (the repository's copies, linked).
      for (const dep of fs.readdirSync(path.join(ROOT, "node_modules"))) {
        if (!dep.startsWith(".")) fs.symlinkSync(path.join(ROOT, "node_modules", dep), path.join(modules, dep));
      }
      // What the nodejs language host runs for a plugin folder: @pulumi/pulumi's run-plugin, resolved from the folder.
      const runPlugin = require.resolve("@pulumi/pulumi/cmd/run-plugin", { paths: [path.join(installed, "provider")] });
      assert.ok(fs.realpathSync(runPlugin).startsWith(fs.realpathSync(path.join(ROOT, "node_modules"))));
      const served = await servedSchema(process.execPath, [runPlugin, path.join(installed, "provider")]);
      assert.deepEqual(JSON.parse(served), JSON.parse(fs.readFileSync(EXPECTED_SCHEMA, "utf8")));
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it("has the same version in provider/package.json as in the repository's package.json", () => {
    const read = (p: string) => JSON.parse(fs.readFileSync(p, "utf8"));
    assert.equal(read(path.join(PLUGIN_DIR, "package.json")).version, read(path.join(ROOT, "package.json")).version);
    assert.equal(read(path.join(PLUGIN_DIR, "package.json")).name, "soci-eks");
  });
});

describe("the package has every setting of the components (their TypeScript types against provider/schema.json)", () => {
  const schema = JSON.parse(fs.readFileSync(EXPECTED_SCHEMA, "utf8"));
  // The components' declared argument types, read by the TypeScript compiler from the sources.
  let declared: ReturnType<typeof declaredSettings> | undefined;
  const components = () => (declared ??= declaredSettings(path.join(ROOT, "components", "index.ts"), ["SociNodeGroupArgs", "SociClusterArgs"]));
  const nodeGroup = () => schemaSettings(schema, schema.resources["soci-eks:index:NodeGroup"].inputProperties, schema.resources["soci-eks:index:NodeGroup"].requiredInputs);
  const cluster = () => schemaSettings(schema, schema.resources["soci-eks:index:Cluster"].inputProperties, schema.resources["soci-eks:index:Cluster"].requiredInputs);
  const renamedIn = (prefix: string) => Object.fromEntries(Object.entries(pkg.PACKAGE_RENAMES).map(([from, to]) => [`${prefix}${from}`, `${prefix}${to}`]));
  const NODE_GROUP_LEFT_OUT = {
    instanceFacts: "looked up by the package component (EC2 DescribeInstanceTypes)",
    kubernetesVersionCatalog: "looked up by the package component (EKS DescribeClusterVersions)",
    nodeRole: "an aws.iam.Role reference would make every generated SDK depend on the AWS provider's SDK",
  };

  it("NodeGroup: every SociNodeGroup setting, nested ones included, except those looked up or resource references", () => {
    const settings = components().SociNodeGroupArgs;
    assert.ok(settings.some((x) => x.path === "onSociFailure") && settings.some((x) => x.path === "rootVolume.sizeGiB") && settings.some((x) => x.path === "taints[].effect"), settings.map((x) => x.path).join(", "));
    assert.deepEqual(parityProblems("NodeGroup", settings, nodeGroup(), { leftOut: NODE_GROUP_LEFT_OUT, renamed: pkg.PACKAGE_RENAMES }), []);
  });

  it("Cluster: every SociCluster setting and every setting of its node groups", () => {
    const leftOut = {
      instanceFacts: NODE_GROUP_LEFT_OUT.instanceFacts,
      kubernetesVersionCatalog: NODE_GROUP_LEFT_OUT.kubernetesVersionCatalog,
      "nodeGroups[].nodeRole": NODE_GROUP_LEFT_OUT.nodeRole,
    };
    assert.deepEqual(parityProblems("Cluster", components().SociClusterArgs, cluster(), { leftOut, renamed: renamedIn("nodeGroups[].") }), []);
  });

  it("every setting validation names (the components' ARG_PATHS) is a NodeGroup setting", () => {
    const inPackage = new Set(nodeGroup().map((x) => x.path));
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const { ARG_PATHS, CONNECTION_ARG_PATHS } = require("../../components/sociNodeGroup") as typeof import("../../components/sociNodeGroup");
    const validated = [...Object.values(ARG_PATHS), ...Object.values(CONNECTION_ARG_PATHS)];
    assert.ok(validated.includes("onSociFailure"));
    assert.deepEqual(validated.map((p) => pkg.PACKAGE_RENAMES[p] ?? p).filter((p) => !inPackage.has(p)), []);
  });

  it("the comparison fails when a component setting has no counterpart, or the package has one too many", () => {
    const settings = components().SociNodeGroupArgs;
    const withoutOne = nodeGroup().filter((x) => x.path !== "onSociFailure");
    assert.deepEqual(parityProblems("NodeGroup", settings, withoutOne, { leftOut: NODE_GROUP_LEFT_OUT, renamed: pkg.PACKAGE_RENAMES }), ["NodeGroup: the component setting onSociFailure has no package counterpart"]);
    const unrenamed = parityProblems("NodeGroup", settings, nodeGroup(), { leftOut: NODE_GROUP_LEFT_OUT, renamed: {} });
    assert.ok(unrenamed.includes("NodeGroup: the component setting rootVolume.sizeGiB has no package counterpart"), unrenamed.join("\n"));
    assert.ok(unrenamed.includes("NodeGroup: the package setting rootVolume.sizeGib has no component counterpart"), unrenamed.join("\n"));
    const extra = parityProblems("NodeGroup", settings, [...nodeGroup(), { path: "sociModes", required: false }], { leftOut: NODE_GROUP_LEFT_OUT, renamed: pkg.PACKAGE_RENAMES });
    assert.deepEqual(extra, ["NodeGroup: the package setting sociModes has no component counterpart"]);
  });

  it("names every property so Python's snake_case reads as written: each capital starts a word of lower-case letters or digits", () => {
    // The Python SDK's codegen (pkg/codegen/python PyName, 3.248) splits names at capitals: sizeGiB → size_gi_b,
    // throughputMiBps → throughput_mi_bps. Names of this shape map to one word per capital (sizeGib → size_gib).
    const names = [...nodeGroup(), ...cluster()].flatMap((x) => x.path.split(/\[\]\.|\./));
    const odd = [...new Set(names)].filter((n) => !/^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)*$/.test(n) || /(?:Ki|Mi|Gi|Ti)[A-Z]/.test(n));
    assert.deepEqual(odd, []);
    assert.ok(names.includes("sizeGib") && names.includes("throughputMibps") && names.includes("onSociFailure"));
    assert.deepEqual(["sizeGiB", "throughputMiBps", "sizeGib"].map((n) => /^[a-z][a-z0-9]*(?:[A-Z][a-z0-9]+)*$/.test(n) && !/(?:Ki|Mi|Gi|Ti)[A-Z]/.test(n)), [false, false, true], "the rule can fail");
  });

  it("passes the renamed volume settings and onSociFailure on to the TypeScript components under their own names", () => {
    const args = pkg.toComponentArgs({ clusterName: "c", subnetIds: ["s"], onSociFailure: "fail", rootVolume: { sizeGib: 200, throughputMibps: 700 } });
    assert.deepEqual(args.rootVolume, { sizeGiB: 200, throughputMiBps: 700 });
    assert.equal(args.onSociFailure, "fail");
  });
});

describe("package components refuse bad settings like the TypeScript components", () => {
  const unhandled: unknown[] = [];
  process.on("unhandledRejection", (e) => unhandled.push(e));
  beforeEach(() => {
    mocks.reset();
    unhandled.length = 0;
  });

  /** Types registered under the package component (the component itself excluded). */
  const childTypes = (own: string) => mocks.resources.map((r) => r.type).filter((t) => t !== own);

  const nodeGroupCases: [string, Record<string, unknown>][] = [
    ["an unknown os", { os: "windows" }],
    ["lazy on Bottlerocket", { os: "bottlerocket" }],
    ["an unknown sociMode", { sociMode: "eager" }],
    ["a bad capacity type", { capacityType: "spot" }],
    ["a bad taint effect", { taints: [{ key: "dedicated", value: "soci", effect: "NO_SCHEDULE" }] }],
    ["an unknown onSociFailure", { onSociFailure: "retry" }],
    ["a volume too small", { rootVolume: { sizeGib: 10 } }],
    ["an instance type EC2 does not know", { instanceType: "m7i.huge" }],
    ["a type too small for SOCI", { instanceType: "t3.small" }],
    ["a Kubernetes version EKS does not list", { kubernetesVersion: "1.29" }],
  ];
  for (const [what, bad] of nodeGroupCases) {
    it(`NodeGroup with ${what}: the same one error as SociNodeGroup.create, and no child resource`, async () => {
      const args = { clusterName: "prod", subnetIds: ["subnet-a", "subnet-b"], ...bad };
      // The same validation, naming settings as the package spells them (validation/settingNames.ts `package`).
      const expected = await rejection(components.SociNodeGroup.create("ng", pkg.toComponentArgs(args as import("../../components/package").NodeGroupArgs), undefined, packageNamer("ng")));
      assert.match(expected, /^SociNodeGroup 'ng'/);
      if (bad.rootVolume) assert.match(expected, /ng\.rootVolume\.sizeGib: 10 is outside 20\.\.16384 GiB\. Set ng\.rootVolume\.sizeGib between 20 and 16384/);
      assert.equal(mocks.resources.length, 0, "SociNodeGroup.create registered nothing");
      mocks.reset();

      assert.equal(await rejection(construct("soci-eks:index:NodeGroup", "ng", args)), expected);
      await settle(mocks);
      assert.deepEqual(childTypes("soci-eks:index:NodeGroup"), []);
      assert.deepEqual(mocks.resources.map((r) => r.type), ["soci-eks:index:NodeGroup"]);
      assert.deepEqual(unhandled, []);
    });
  }

  const clusterCases: [string, Record<string, unknown>][] = [
    ["an unknown sociMode in a node group", { nodeGroups: [{ name: "general", sociMode: "eager" }] }],
    ["Bottlerocket with lazy pulls and a duplicate group name", { nodeGroups: [{ name: "a", os: "bottlerocket" }, { name: "a" }] }],
    ["a Kubernetes version EKS no longer creates", { kubernetesVersion: "1.30", nodeGroups: [{ name: "general" }] }],
    ["no node groups", { nodeGroups: [] }],
  ];
  for (const [what, args] of clusterCases) {
    it(`Cluster with ${what}: the same one error as SociCluster.create, and no child resource`, async () => {
      const expected = await rejection(components.SociCluster.create("prod", pkg.sociClusterArgs(args as unknown as import("../../components/package").ClusterArgs)));
      assert.match(expected, /^SociCluster 'prod'/);
      assert.equal(mocks.resources.length, 0, "SociCluster.create registered nothing");
      mocks.reset();

      assert.equal(await rejection(construct("soci-eks:index:Cluster", "prod", args)), expected);
      await settle(mocks);
      assert.deepEqual(mocks.resources.map((r) => r.type), ["soci-eks:index:Cluster"]);
      assert.deepEqual(unhandled, []);
    });
  }

  it("NodeGroup with good settings creates SociNodeGroup's resources under it and serves its outputs", async () => {
    const args = {
      clusterName: "prod",
      subnetIds: ["subnet-a", "subnet-b"],
      instanceType: "m7g.xlarge",
      sociMode: "parallel",
      onSociFailure: "fail",
      rootVolume: { sizeGib: 150, throughputMibps: 500 },
      taints: [{ key: "soci", effect: "NoSchedule" }],
      soci: { sha256: TEST_ONLY_SOCI_SHA256 },
    };
    const direct = await components.SociNodeGroup.create("ng", {
      clusterName: "prod",
      subnetIds: ["subnet-a", "subnet-b"],
      instanceType: "m7g.xlarge",
      sociMode: "parallel",
      onSociFailure: "fail",
      rootVolume: { sizeGiB: 150, throughputMiBps: 500 },
      taints: [{ key: "soci", effect: "NoSchedule" }],
      soci: { sha256: TEST_ONLY_SOCI_SHA256 },
    });
    const directUserData = await new Promise<string>((resolve) => direct.userData.apply(resolve));
    await settle(mocks);
    const directTypes = mocks.resources.map((r) => r.type).sort();
    const directLt = mocks.resources.find((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate")!;
    mocks.reset();
    const fallback = await components.SociNodeGroup.create("ng", { clusterName: "prod", subnetIds: ["subnet-a"], instanceType: "m7g.xlarge", sociMode: "parallel", soci: { sha256: TEST_ONLY_SOCI_SHA256 } });
    const fallbackUserData = await new Promise<string>((resolve) => fallback.userData.apply(resolve));
    await settle(mocks);
    mocks.reset();

    const state = await construct("soci-eks:index:NodeGroup", "ng", args);
    await settle(mocks);
    assert.equal(state.userData, directUserData, "the same user data as SociNodeGroup");
    assert.notEqual(state.userData, fallbackUserData, "onSociFailure reached the user data");
    const lt = mocks.resources.find((r) => r.type === "aws:ec2/launchTemplate:LaunchTemplate")!;
    assert.deepEqual(lt.inputs.blockDeviceMappings, directLt.inputs.blockDeviceMappings);
    assert.equal(lt.inputs.blockDeviceMappings[0].ebs.volumeSize, 150);
    assert.equal(lt.inputs.blockDeviceMappings[0].ebs.throughput, 500);
    assert.equal(state.architecture, "arm64");
    assert.equal(state.nodeGroupName, "ng-ng-1234567");
    assert.match(state.launchTemplateId, /^ng-lt-id$/);
    const types = mocks.resources.map((r) => r.type);
    assert.equal(types[0], "soci-eks:index:NodeGroup");
    assert.deepEqual(types.slice(1).sort(), directTypes, "the package component adds itself, then exactly SociNodeGroup's resources");
    assert.deepEqual(unhandled, []);
  });

  it("examples/yaml: its properties are the schema's, and Construct builds its cluster", async () => {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const YAML = require("yaml");
    // The program's config, as `pulumi config set` gives it: sociSha256 (required, no default) the test-only digests.
    const text = fs.readFileSync(path.join(ROOT, "examples", "yaml", "Pulumi.yaml"), "utf8");
    assert.match(text, /\$\{sociSha256\}/, "the example pins the release digest from its config");
    const program = YAML.parse(text.replaceAll("${sociSha256}", TEST_ONLY_SOCI_SHA256));
    assert.equal(program.config.sociSha256.default, undefined, "no default: each user pins their own");
    const schema = JSON.parse(fs.readFileSync(EXPECTED_SCHEMA, "utf8"));
    const ours = Object.entries<any>(program.resources).filter(([, r]) => String(r.type).startsWith("soci-eks:"));
    assert.ok(ours.length > 0);
    /** Every key of `value` is a property of the schema type `props` (recursing into object types and arrays). */
    const checkKeys = (where: string, value: Record<string, unknown>, props: Record<string, any>) => {
      for (const [k, v] of Object.entries(value)) {
        const prop = props[k];
        assert.ok(prop, `${where}.${k} is not in the schema`);
        const ref = (prop.items ?? prop).$ref as string | undefined;
        if (!ref) continue;
        const type = schema.types[ref.replace("#/types/", "")];
        for (const item of Array.isArray(v) ? v : [v]) checkKeys(`${where}.${k}`, item as Record<string, unknown>, type.properties);
      }
    };
    for (const [name, r] of ours) {
      const resource = schema.resources[r.type];
      assert.ok(resource, `${r.type} is a resource of the schema`);
      checkKeys(name, r.properties, resource.inputProperties);
      const state = await construct(r.type, name, r.properties);
      assert.deepEqual(Object.keys(state).sort(), Object.keys(resource.properties).sort());
    }
    assert.deepEqual(unhandled, []);
  });

  it("used directly from TypeScript (no provider), a bad setting fails the program with the same message", () => {
    // A fresh process: here the package provider exists, which hands initialization errors to Construct instead.
    const script = `
      const { installMocks } = require("./dist/test/helpers/mocks");
      installMocks(false);
      const { NodeGroup } = require("./dist/components/package");
      new NodeGroup("ng", { clusterName: "prod", subnetIds: ["subnet-a"], sociMode: "eager" });
    `;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /SociNodeGroup 'ng' has 1 problem; nothing was created:\n {2}- ng\.sociMode: 'eager' is not one of lazy, parallel, off\./);
  });
});
