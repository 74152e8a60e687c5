/**
 * The component provider that serves the package components: @pulumi/pulumi's `ComponentProvider` (the class
 * `componentProviderHost` runs: schema from the Analyzer, `construct` calls the component's constructor) with one
 * change: Construct waits for the component's initialization (instance-fact and version lookups, validation) and
 * fails with the component's own error, so a bad setting fails `pulumi preview` with the same one message as the
 * TypeScript components and nothing under the component is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConstructResult, main } from "@pulumi/pulumi/provider";
import { ComponentProvider } from "@pulumi/pulumi/provider/experimental";
import { Cluster } from "./cluster";
import { initializationError, markProviderHosted } from "./initialization";
import { NodeGroup } from "./nodeGroup";

/** The package name: schema tokens are `soci-eks:index:<class name>`. */
export const PACKAGE_NAME = "soci-eks";

/** The components the package serves, each under its class name. */
export const PACKAGE_COMPONENTS = [NodeGroup, Cluster];

/** {@link ComponentProvider} whose Construct fails with the component's initialization error. */
export class SociEksProvider extends ComponentProvider {
  /** `dirname`: the plugin folder (package.json, tsconfig.json, PulumiPlugin.yaml) whose source the Analyzer reads. */
  constructor(dirname: string) {
    super({ components: PACKAGE_COMPONENTS, name: PACKAGE_NAME, dirname });
    markProviderHosted();
  }

  async construct(name: string, type: string, inputs: pulumi.Inputs, options: pulumi.ComponentResourceOptions): Promise<ConstructResult> {
    const result = await super.construct(name, type, inputs, options);
    const error = await initializationError(result.urn);
    if (error !== undefined) throw error;
    return result;
  }
}

/** Serves the package over gRPC (the engine starts the plugin and talks to it; `args` are the engine's). */
export function serve(dirname: string, args: string[]): Promise<void> {
  return main(new SociEksProvider(dirname), args);
}
