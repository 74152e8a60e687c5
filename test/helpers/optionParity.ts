/**
 * The settings of the TypeScript components, read from their declared types with the TypeScript compiler, and the
 * settings of the component package, read from its schema: what test/unit/package-components.test.ts compares so a
 * component option without a package counterpart (or the reverse) fails the tests.
 */
import * as path from "path";
import * as ts from "typescript";

/** One setting: its path (`rootVolume.sizeGiB`, `taints[].effect`), required or not. */
export interface Setting {
  path: string;
  required: boolean;
}

/**
 * The settings of exported interfaces (by name) of `file`, recursing into nested interfaces declared in this
 * repository (not into Pulumi's `Input`, records or library types). Array element types add `[]` to the path.
 */
export function declaredSettings(file: string, interfaceNames: string[], compilerOptions: ts.CompilerOptions = {}): Record<string, Setting[]> {
  const program = ts.createProgram([file], { strict: true, skipLibCheck: true, noEmit: true, ...compilerOptions });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} is not in the program`);
  const repoRoot = path.resolve(path.dirname(file), "..");
  // Interfaces of this repository (its sources, not node_modules) are the ones to recurse into.
  const ownInterface = (t: ts.Type): boolean => {
    const decl = t.getSymbol()?.declarations?.[0];
    return !!decl && ts.isInterfaceDeclaration(decl) && !decl.getSourceFile().fileName.includes("node_modules") && path.resolve(decl.getSourceFile().fileName).startsWith(repoRoot);
  };
  const walk = (type: ts.Type, prefix: string, out: Setting[], seen: Set<ts.Type>): void => {
    if (seen.has(type)) return;
    seen.add(type);
    for (const prop of checker.getPropertiesOfType(type)) {
      const decl = prop.valueDeclaration ?? prop.declarations?.[0];
      if (!decl) continue;
      const p = `${prefix}${prop.name}`;
      out.push({ path: p, required: (prop.flags & ts.SymbolFlags.Optional) === 0 });
      let t = checker.getNonNullableType(checker.getTypeOfSymbolAtLocation(prop, decl));
      let suffix = ".";
      if (checker.isArrayType(t)) {
        t = checker.getTypeArguments(t as ts.TypeReference)[0];
        suffix = "[].";
      }
      if (ownInterface(t)) walk(t, `${p}${suffix}`, out, new Set(seen));
    }
  };
  const result: Record<string, Setting[]> = {};
  const moduleSymbol = checker.getSymbolAtLocation(source);
  const exports = moduleSymbol ? checker.getExportsOfModule(moduleSymbol) : [];
  for (const name of interfaceNames) {
    const symbol = exports.find((s) => s.name === name);
    if (!symbol) throw new Error(`${file} exports no ${name}`);
    const out: Setting[] = [];
    walk(checker.getDeclaredTypeOfSymbol(symbol), "", out, new Set());
    result[name] = out;
  }
  return result;
}

/** A schema property: a `$ref` to a type, an array of them, or a plain value. */
interface SchemaProperty {
  $ref?: string;
  items?: SchemaProperty;
}

/** The settings of a schema object (`inputProperties` + `requiredInputs`, or a type's `properties` + `required`), recursing into the schema's types. */
export function schemaSettings(schema: { types: Record<string, { properties: Record<string, SchemaProperty>; required?: string[] }> }, properties: Record<string, SchemaProperty>, required: string[] = []): Setting[] {
  const out: Setting[] = [];
  const walk = (props: Record<string, SchemaProperty>, req: string[], prefix: string, seen: Set<string>): void => {
    for (const [name, prop] of Object.entries(props)) {
      const p = `${prefix}${name}`;
      out.push({ path: p, required: req.includes(name) });
      const ref = prop.$ref ?? prop.items?.$ref;
      if (!ref || seen.has(ref)) continue;
      const type = schema.types[ref.replace("#/types/", "")];
      if (!type) throw new Error(`${p}: no type ${ref}`);
      walk(type.properties, type.required ?? [], `${p}${prop.items ? "[]." : "."}`, new Set([...seen, ref]));
    }
  };
  walk(properties, required, "", new Set());
  return out;
}

/** How the package is allowed to differ from a component: settings it leaves out (with the reason) and renames. */
export interface PackageDifferences {
  /** Component setting paths (a whole subtree when it ends the path) the package does not take, with why. */
  leftOut: Record<string, string>;
  /** Component setting path → package setting path. */
  renamed: Readonly<Record<string, string>>;
}

/** What differs between a component's settings and a package resource's, beyond the allowed differences; empty when they match. */
export function parityProblems(what: string, component: Setting[], pkg: Setting[], allowed: PackageDifferences): string[] {
  const problems: string[] = [];
  const isLeftOut = (p: string) => Object.keys(allowed.leftOut).some((k) => p === k || p.startsWith(`${k}.`) || p.startsWith(`${k}[].`));
  const expected = new Map<string, boolean>();
  for (const s of component) {
    if (isLeftOut(s.path)) continue;
    expected.set(allowed.renamed[s.path] ?? s.path, s.required);
  }
  const actual = new Map(pkg.map((s) => [s.path, s.required]));
  for (const [p, required] of expected) {
    if (!actual.has(p)) problems.push(`${what}: the component setting ${p} has no package counterpart`);
    else if (actual.get(p) !== required) problems.push(`${what}: ${p} is ${required ? "required" : "optional"} in the component, ${actual.get(p) ? "required" : "optional"} in the package`);
  }
  for (const p of actual.keys()) if (!expected.has(p)) problems.push(`${what}: the package setting ${p} has no component counterpart`);
  for (const k of Object.keys(allowed.leftOut)) if (!component.some((s) => s.path === k)) problems.push(`${what}: '${k}' is listed as left out but is no component setting`);
  return problems;
}
