/**
 * Hands resources recorded from another language's program (test/consumers/python_sdk_program.py: the inputs the
 * generated SDK serialized for the package components) to the package provider's Construct, under the same mocks
 * as the unit tests, and prints per resource the outputs it serves or the error it fails with, as JSON.
 * Usage: node -e 'require("./dist/test/helpers/packageConstruct").main(process.argv[1])' RECORDED_JSON
 * (a function, not a script: node --test runs every file under dist/test/).
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, settle } from "./mocks";

interface Recorded {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

export async function main(file: string): Promise<void> {
  const mocks = installMocks(true);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const pkg: typeof import("../../components/package") = require("../../components/package");
  const provider = new pkg.SociEksProvider(path.resolve(__dirname, "..", "..", "..", "provider"));
  const recorded = JSON.parse(fs.readFileSync(file, "utf8")) as Recorded[];
  const report: unknown[] = [];
  for (const r of recorded.filter((x) => x.type.startsWith(`${pkg.PACKAGE_NAME}:`))) {
    mocks.reset();
    try {
      const result = await provider.construct(r.name, r.type, r.inputs, {});
      const [state] = await pulumi.runtime.serializeResourceProperties(`construct(${r.type}, ${r.name})`, result.state);
      await settle(mocks);
      report.push({ type: r.type, name: r.name, outputs: Object.keys(state).sort(), children: mocks.resources.length - 1 });
    } catch (e) {
      report.push({ type: r.type, name: r.name, error: e instanceof Error ? e.message : String(e) });
    }
  }
  process.stdout.write(JSON.stringify(report, null, 2) + "\n");
}
