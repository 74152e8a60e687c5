/**
 * The provider that serves the package components to the engine: GetSchema answers with provider/schema.json, and
 * Construct runs the component's constructor, waits for its initialization (instance-fact and version lookups,
 * validation) and fails with the component's own error, so a bad setting fails `pulumi preview` with the same one
 * message as the TypeScript components and nothing under the component is registered.
 *
 * provider/schema.json is @pulumi/pulumi's own inference from these classes (the Analyzer behind
 * `componentProviderHost`); a test keeps the file equal to it. The provider serves the file rather than running the
 * Analyzer, which needs the TypeScript sources: the npm package ships the compiled provider and the schema, so
 * `pulumi package add node_modules/soci-eks/provider` works without a checkout. Python names come from the schema's
 * property names (the codegen's `PyName`: `sizeGib` → `size_gib`), so the package's own types are named for that
 * (components/package/nodeGroup.ts).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConstructResult, main, Provider } from "@pulumi/pulumi/provider";
import { Cluster } from "./cluster";
import { initializationError, markProviderHosted } from "./initialization";
import { NodeGroup } from "./nodeGroup";

/** The package name: schema tokens are `soci-eks:index:<class name>`. */
export const PACKAGE_NAME = "soci-eks";

/** The components the package serves, each under its class name. */
export const PACKAGE_COMPONENTS = [NodeGroup, Cluster];

/** A package component's constructor. */
type ComponentClass = new (name: string, args: never, opts?: pulumi.ComponentResourceOptions) => pulumi.ComponentResource;

/** The schema file of the plugin folder `pluginDir` (provider/). */
export function schemaFile(pluginDir: string): string {
  return path.join(pluginDir, "schema.json");
}

/** Serves the package components from the plugin folder's schema.json. */
export class SociEksProvider implements Provider {
  readonly version: string;
  readonly schema: string;
  /** The output property names of each component, from the schema. */
  private readonly outputs: Map<string, string[]>;
  private readonly components: Map<string, ComponentClass>;

  /** `pluginDir`: the plugin folder (PulumiPlugin.yaml, package.json, schema.json). */
  constructor(pluginDir: string) {
    this.schema = fs.readFileSync(schemaFile(pluginDir), "utf8");
    const parsed = JSON.parse(this.schema) as { name: string; version: string; resources: Record<string, { properties?: Record<string, unknown> }> };
    if (parsed.name !== PACKAGE_NAME) throw new Error(`${schemaFile(pluginDir)} is the schema of '${parsed.name}', not ${PACKAGE_NAME}`);
    this.version = parsed.version;
    this.components = new Map(PACKAGE_COMPONENTS.map((c) => [c.name, c as unknown as ComponentClass]));
    this.outputs = new Map();
    for (const [token, resource] of Object.entries(parsed.resources)) {
      const name = token.split(":")[2];
      if (!this.components.has(name)) throw new Error(`${schemaFile(pluginDir)} has ${token}, which the package does not serve`);
      this.outputs.set(name, Object.keys(resource.properties ?? {}));
    }
    markProviderHosted();
  }

  async getSchema(): Promise<string> {
    return this.schema;
  }

  async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<ConstructResult> {
    const [pkg, mod, componentName] = type.split(":");
    const Component = pkg === PACKAGE_NAME && mod === "index" ? this.components.get(componentName) : undefined;
    const outputs = this.outputs.get(componentName);
    if (!Component || !outputs) throw new Error(`${PACKAGE_NAME} serves no component ${type}`);
    const instance = new Component(name, inputs as never, options) as pulumi.ComponentResource & Record<string, unknown>;
    const error = await initializationError(instance.urn);
    if (error !== undefined) throw error;
    return { urn: instance.urn, state: Object.fromEntries(outputs.map((k) => [k, instance[k]])) };
  }
}

/** Serves the package over gRPC (the engine starts the plugin and talks to it; `args` are the engine's). */
export function serve(pluginDir: string, args: string[]): Promise<void> {
  return main(new SociEksProvider(pluginDir), args);
}
