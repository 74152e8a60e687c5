/**
 * The component-provider entry point of the soci-eks Pulumi package (PulumiPlugin.yaml in this folder): serves the
 * package components `NodeGroup` and `Cluster` (components/package/) to programs in other Pulumi languages.
 * `pulumi package add <path to this folder>` runs it through @pulumi/pulumi's run-plugin, which requires this
 * module (this folder's package.json `main`: dist/provider/index.js, built by `npm run build` and shipped in the npm
 * package). Importing it starts the provider; tests import components/package instead. It serves schema.json from
 * this folder (a test keeps it equal to the schema @pulumi/pulumi infers from the sources, and its version equal to
 * the repository's).
 */
import * as path from "path";
import { serve } from "../components/package";

/** This folder (from dist/provider/), in a checkout or in the installed npm package: it holds schema.json. */
const pluginDir = path.resolve(__dirname, "..", "..", "provider");

serve(pluginDir, process.argv.slice(2)).catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
