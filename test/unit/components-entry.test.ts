import { strict as assert } from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../helpers/sociWiring";

describe("package entry (package.json main)", () => {
  it("is dist/components/index.js and exports the components, config loader and error type", () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { main: string };
    assert.equal(pkg.main, "dist/components/index.js");
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    const entry = require(path.join(REPO_ROOT, pkg.main)) as Record<string, unknown>;
    for (const name of ["SociCluster", "SociNodeGroup", "SociIndexBuilder", "PullCheck", "SociConfigError", "loadStackConfig", "deployStack", "lookupInstanceFacts"]) {
      assert.equal(typeof entry[name], "function", name);
    }
    const { SociCluster, SociNodeGroup } = entry as { SociCluster: { create: unknown }; SociNodeGroup: { create: unknown } };
    assert.equal(typeof SociCluster.create, "function");
    assert.equal(typeof SociNodeGroup.create, "function");
  });
});
