import { strict as assert } from "assert";
import { readFileSync } from "fs";
import * as path from "path";
import { describe, it } from "node:test";
import { parse as parseYaml } from "yaml";
import { DEFAULTS } from "../../components/defaults";
import { REPO_ROOT } from "../helpers/sociWiring";

interface ConfigDecl {
  type?: string;
  default?: unknown;
  description?: string;
  items?: { type: string };
}

const project = parseYaml(readFileSync(path.join(REPO_ROOT, "Pulumi.yaml"), "utf8")) as {
  name: string;
  main: string;
  runtime: { name: string; options: { typescript: boolean } };
  config: Record<string, ConfigDecl>;
};
const doc = readFileSync(path.join(REPO_ROOT, "docs", "config-reference.md"), "utf8");

/** Rows of the first table under a heading: key → [type, default, description]. */
function tableRows(heading: string): Map<string, string[]> {
  const start = doc.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `heading ${heading}`);
  const rows = new Map<string, string[]>();
  const lines = doc.slice(start).split("\n").slice(2);
  let inTable = false;
  for (const line of lines) {
    if (line.startsWith("|")) {
      inTable = true;
      const cells = line.split("|").slice(1, -1).map((c) => c.trim());
      const key = /^`([A-Za-z0-9]+)`$/.exec(cells[0]);
      if (key) rows.set(key[1], cells.slice(1));
    } else if (inTable) {
      break;
    }
  }
  return rows;
}

describe("Pulumi.yaml and docs/config-reference.md", () => {
  it("declare the soci-eks project, a nodejs TypeScript program whose entry is index.ts, not the library", () => {
    assert.equal(project.name, "soci-eks");
    assert.equal(project.main, "index.ts");
    assert.deepEqual(project.runtime, { name: "nodejs", options: { typescript: true } });
  });

  it("every config key has a type Pulumi accepts, a default and a description", () => {
    for (const [key, decl] of Object.entries(project.config)) {
      assert.ok(typeof decl.description === "string" && decl.description.length > 20, `${key} description`);
      assert.ok("default" in decl, `${key} needs a default, or every stack must set it`);
      if (key === "nodeGroups") {
        assert.equal(decl.type, undefined, "objects cannot be typed in Pulumi.yaml");
        continue;
      }
      assert.ok(["string", "boolean", "integer", "array"].includes(decl.type!), `${key} type ${decl.type}`);
      if (decl.type === "array") assert.deepEqual(decl.items, { type: "string" }, key);
      const jsType = { string: "string", boolean: "boolean", integer: "number", array: "object" }[decl.type!];
      assert.equal(typeof decl.default, jsType, `${key} default type`);
    }
  });

  it("Pulumi.yaml defaults equal the components' defaults", () => {
    const shared = Object.keys(DEFAULTS).filter((k) => k in project.config);
    assert.ok(shared.length >= 15, `only ${shared.length} shared keys`);
    for (const key of shared) {
      assert.equal(project.config[key].default, DEFAULTS[key as keyof typeof DEFAULTS], key);
    }
  });

  it("the program reads exactly the keys Pulumi.yaml declares (so the unknown-key check refuses nothing valid)", async () => {
    const { STACK_CONFIG_KEYS } = await import("../../components/config");
    assert.deepEqual([...STACK_CONFIG_KEYS].sort(), Object.keys(project.config).sort());
  });

  it("every Pulumi.yaml key is in the reference table and every table key is in Pulumi.yaml", () => {
    const rows = tableRows("## Settings");
    assert.deepEqual([...rows.keys()].sort(), Object.keys(project.config).sort());
  });

  it("the reference table shows each key's Pulumi.yaml type and default", () => {
    const rows = tableRows("## Settings");
    for (const [key, decl] of Object.entries(project.config)) {
      const [type, def] = rows.get(key)!;
      if (key === "nodeGroups") {
        assert.equal(type, "list of objects");
        continue;
      }
      assert.equal(type, decl.type, `${key} type`);
      const shown = typeof decl.default === "string" ? `\`${decl.default === "" ? '""' : decl.default}\`` : `\`${JSON.stringify(decl.default)}\``;
      assert.equal(def, shown, `${key} default`);
    }
  });

  it("the nodeGroups table lists exactly the keys the program accepts", async () => {
    const { parseNodeGroups } = await import("../../components/config");
    const rows = tableRows("## `nodeGroups` entries");
    const problems: import("../../validation").ConfigProblem[] = [];
    parseNodeGroups([{ unknownKey: 1 }], problems);
    const accepted = /Use only (.*)\.$/.exec(problems.find((p) => p.setting.endsWith("unknownKey"))!.fix)![1].split(", ");
    assert.deepEqual([...rows.keys()].sort(), accepted.sort());
  });
});
