/**
 * Validates an object against a CRD's structural `openAPIV3Schema`, as the Kubernetes API server does with
 * strict field validation: types, required, enum, pattern, lengths, item and property counts, bounds,
 * formats, unknown fields (rejected unless `x-kubernetes-preserve-unknown-fields`), and CEL rules
 * (`x-kubernetes-validations`) through hand translations keyed by their exact rule text.
 * Any schema keyword it does not implement, or a CEL rule without a translation on a field that is present,
 * is reported as an error: the validator never passes what it did not check.
 */

/** One node of an OpenAPI v3 structural schema (the subset CRDs use). */
export interface SchemaNode {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  enum?: unknown[];
  items?: SchemaNode;
  maxItems?: number;
  minItems?: number;
  maxLength?: number;
  minLength?: number;
  pattern?: string;
  additionalProperties?: SchemaNode | boolean;
  maxProperties?: number;
  format?: string;
  maximum?: number;
  minimum?: number;
  default?: unknown;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-validations"?: { rule: string; message?: string }[];
}

/** The keywords this validator implements (or, for `description` and `default`, knowingly ignores). */
export const IMPLEMENTED_KEYWORDS = new Set([
  "type", "description", "properties", "required", "enum", "items", "maxItems", "minItems", "maxLength", "minLength",
  "pattern", "additionalProperties", "maxProperties", "format", "maximum", "minimum", "default",
  "x-kubernetes-preserve-unknown-fields", "x-kubernetes-list-type", "x-kubernetes-validations",
]);

/** A CEL rule translated to TypeScript: `self` is the value at the rule's node. */
export type CelRule = (self: any) => boolean;

/** A CEL rule and the path it ran at. */
export interface CelUse {
  path: string;
  rule: string;
}

/** Integer ranges of the formats CRDs use. */
const INT_FORMATS: Record<string, [number, number]> = {
  int32: [-(2 ** 31), 2 ** 31 - 1],
  int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function typeOf(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Code points, as Kubernetes counts string length. */
function length(s: string): number {
  return [...s].length;
}

/**
 * Validates `value` against `schema`; returns the errors (empty when valid) and records each CEL rule that ran.
 * `cel` maps rule text to its translation.
 */
export function validateSchema(value: unknown, schema: SchemaNode, cel: Readonly<Record<string, CelRule>>, ran: CelUse[] = [], path = ""): string[] {
  const errors: string[] = [];
  const at = path || ".";
  for (const key of Object.keys(schema)) if (!IMPLEMENTED_KEYWORDS.has(key)) errors.push(`${at}: schema keyword ${key} is not implemented by the validator`);
  const t = typeOf(value);
  if (schema.type) {
    const ok = schema.type === t || (schema.type === "number" && t === "integer");
    if (!ok) return [...errors, `${at}: is ${t}, expected ${schema.type}`];
  }
  if (schema.enum && !schema.enum.some((e) => e === value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  if (typeof value === "string") {
    if (schema.maxLength !== undefined && length(value) > schema.maxLength) errors.push(`${at}: longer than ${schema.maxLength}`);
    if (schema.minLength !== undefined && length(value) < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) errors.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    if (schema.format === "date-time" && Number.isNaN(Date.parse(value))) errors.push(`${at}: not a date-time`);
  }
  if (typeof value === "number") {
    if (schema.maximum !== undefined && value > schema.maximum) errors.push(`${at}: above ${schema.maximum}`);
    if (schema.minimum !== undefined && value < schema.minimum) errors.push(`${at}: below ${schema.minimum}`);
    const range = schema.format ? INT_FORMATS[schema.format] : undefined;
    if (range && (value < range[0] || value > range[1])) errors.push(`${at}: outside ${schema.format}`);
  }
  if (schema.format && !INT_FORMATS[schema.format] && schema.format !== "date-time") errors.push(`${at}: format ${schema.format} is not implemented by the validator`);
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errors.push(`${at}: more than ${schema.maxItems} items`);
    if (schema.minItems !== undefined && value.length < schema.minItems) errors.push(`${at}: fewer than ${schema.minItems} items`);
    const listType = schema["x-kubernetes-list-type"];
    if (listType === "set" && new Set(value.map((x) => JSON.stringify(x))).size !== value.length) errors.push(`${at}: duplicate items in a set`);
    if (listType === "map") errors.push(`${at}: x-kubernetes-list-type map is not implemented by the validator`);
    if (schema.items) value.forEach((item, i) => errors.push(...validateSchema(item, schema.items!, cel, ran, `${path}[${i}]`)));
  }
  if (t === "object") {
    const obj = value as Record<string, unknown>;
    for (const req of schema.required ?? []) if (!(req in obj)) errors.push(`${at}: missing required field ${req}`);
    if (schema.maxProperties !== undefined && Object.keys(obj).length > schema.maxProperties) errors.push(`${at}: more than ${schema.maxProperties} properties`);
    for (const [key, v] of Object.entries(obj)) {
      const child = schema.properties?.[key];
      if (child) {
        errors.push(...validateSchema(v, child, cel, ran, `${path}.${key}`));
      } else if (typeof schema.additionalProperties === "object") {
        errors.push(...validateSchema(v, schema.additionalProperties, cel, ran, `${path}.${key}`));
      } else if (!schema["x-kubernetes-preserve-unknown-fields"] && schema.additionalProperties !== true) {
        errors.push(`${at}: unknown field ${key}`);
      }
    }
  }
  for (const { rule, message } of schema["x-kubernetes-validations"] ?? []) {
    const fn = cel[rule];
    if (!fn) {
      errors.push(`${at}: CEL rule has no translation: ${rule}`);
      continue;
    }
    ran.push({ path: at, rule });
    if (!fn(value)) errors.push(`${at}: ${message ?? rule}`);
  }
  return errors;
}
