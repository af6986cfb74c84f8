#!/usr/bin/env node
// Generates the typed API client (web/src/api/generated.ts) from the committed openapi.json.
//
// Why a tiny generator instead of openapi-typescript & co: the document is FastAPI's OpenAPI 3.1
// (JSON Schema 2020-12 subset), the output must be byte-stable for the staleness check, and the
// app wants plain named functions over one hand-written fetch runtime (web/src/api/runtime.ts).
//
//   node web/scripts/gen-api.mjs            # writes web/src/api/generated.ts
//   node web/scripts/gen-api.mjs --check    # exits 1 when the committed file is stale
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const specPath = resolve(here, "../../openapi.json");
const outPath = resolve(here, "../src/api/generated.ts");
const METHODS = ["get", "put", "post", "patch", "delete"];
// Route names that are not valid function names in a module (e.g. a route called `export`).
const RESERVED = new Set(
  "break case catch class const continue debugger default delete do else enum export extends false finally for function if import in instanceof new null return super switch this throw true try typeof var void while with yield let static implements interface package private protected public await".split(" "),
);

const spec = JSON.parse(readFileSync(specPath, "utf8"));
const schemas = spec.components?.schemas ?? {};

function typeName(name) {
  // FastAPI names some schemas "Body_upload_avatar_v1_users_me_avatar_put" or "A-Input".
  return name.replace(/[^A-Za-z0-9_]/g, "_");
}

function camel(words) {
  return words
    .filter(Boolean)
    .map((w, i) => (i === 0 ? w.toLowerCase() : w[0].toUpperCase() + w.slice(1).toLowerCase()))
    .join("");
}

function literal(value) {
  return JSON.stringify(value);
}

function propKey(key) {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? key : literal(key);
}

/** JSON Schema → TypeScript type text. */
function tsType(schema, indent = "") {
  if (schema === undefined || schema === true || (typeof schema === "object" && Object.keys(schema).length === 0)) {
    return "unknown";
  }
  if (schema === false) return "never";
  if (schema.$ref) return typeName(schema.$ref.split("/").pop());
  if (schema.const !== undefined) return literal(schema.const);
  if (schema.enum) return schema.enum.map(literal).join(" | ");
  if (schema.anyOf || schema.oneOf) {
    const parts = [...new Set((schema.anyOf ?? schema.oneOf).map((s) => tsType(s, indent)))];
    return parts.length === 1 ? parts[0] : parts.map((p) => (p.includes("=>") ? `(${p})` : p)).join(" | ");
  }
  if (schema.allOf) return schema.allOf.map((s) => tsType(s, indent)).join(" & ");
  const type = schema.type;
  if (Array.isArray(type)) return type.map((t) => tsType({ ...schema, type: t }, indent)).join(" | ");
  switch (type) {
    case "string":
      return schema.format === "binary" ? "Blob" : "string";
    case "integer":
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "array": {
      if (schema.prefixItems) return `[${schema.prefixItems.map((s) => tsType(s, indent)).join(", ")}]`;
      const item = tsType(schema.items, indent);
      return /[|&]/.test(item) ? `Array<${item}>` : `${item}[]`;
    }
    case "object":
    case undefined: {
      const props = schema.properties ?? {};
      const required = new Set(schema.required ?? []);
      const keys = Object.keys(props);
      const extra = schema.additionalProperties;
      if (keys.length === 0) {
        if (extra && extra !== true) return `Record<string, ${tsType(extra, indent)}>`;
        return type === "object" || extra ? "Record<string, unknown>" : "unknown";
      }
      const inner = indent + "  ";
      const lines = keys.map((k) => {
        const doc = props[k].description ? `${inner}/** ${props[k].description.replace(/\*\//g, "* /")} */\n` : "";
        return `${doc}${inner}${propKey(k)}${required.has(k) ? "" : "?"}: ${tsType(props[k], inner)};`;
      });
      if (extra && extra !== true) lines.push(`${inner}[key: string]: ${tsType(extra, inner)} | undefined;`);
      return `{\n${lines.join("\n")}\n${indent}}`;
    }
    default:
      return "unknown";
  }
}

/** FastAPI's default operationId is `<function name><path with \W as _>_<method>`; recover the name. */
function functionName(op, path, method) {
  const id = op.operationId ?? "";
  const suffix = `${path.replace(/\W/g, "_")}_${method}`;
  const base = id.endsWith(suffix) && id.length > suffix.length ? id.slice(0, -suffix.length) : id;
  return camel((base || `${method}_${path}`).split(/[^A-Za-z0-9]+/));
}

function fallbackName(path, method) {
  return camel([method, ...path.split(/[^A-Za-z0-9]+/)]);
}

function jsonSchemaOf(content) {
  if (!content) return undefined;
  for (const type of Object.keys(content).sort()) {
    if (type === "application/json" || type.endsWith("+json")) return { kind: "json", schema: content[type].schema };
  }
  if (content["multipart/form-data"]) return { kind: "form", schema: content["multipart/form-data"].schema };
  if (content["text/plain"]) return { kind: "text", schema: { type: "string" } };
  return { kind: "json", schema: Object.values(content)[0]?.schema };
}

function successResponse(op) {
  const codes = Object.keys(op.responses ?? {}).filter((c) => /^2\d\d$/.test(c)).sort();
  const types = [];
  let kind = "json";
  for (const code of codes) {
    const body = jsonSchemaOf(op.responses[code].content);
    if (code === "204" || !body) {
      types.push("void");
      continue;
    }
    if (body.kind === "text") kind = "text";
    types.push(tsType(body.schema, ""));
  }
  const unique = [...new Set(types)];
  return { type: unique.length ? unique.join(" | ") : "void", kind };
}

const operations = [];
for (const path of Object.keys(spec.paths).sort()) {
  for (const method of METHODS) {
    const op = spec.paths[path][method];
    if (!op) continue;
    operations.push({ path, method, op, name: functionName(op, path, method) });
  }
}
// Two routes with the same function name (e.g. `get` in two domains) fall back to method + path.
const counts = new Map();
for (const o of operations) counts.set(o.name, (counts.get(o.name) ?? 0) + 1);
for (const o of operations) {
  if (counts.get(o.name) > 1) o.name = fallbackName(o.path, o.method);
  else if (RESERVED.has(o.name)) o.name = camel([o.method, o.name]);
}

const out = [];
out.push("// GENERATED by web/scripts/gen-api.mjs from openapi.json: do not edit by hand.");
out.push(`// ${spec.info?.title ?? "API"} ${spec.info?.version ?? ""}`.trimEnd());
out.push("/* eslint-disable */");
out.push('import { request, type RequestOptions } from "./runtime";');
out.push("");
for (const name of Object.keys(schemas).sort()) {
  const schema = schemas[name];
  if (schema.description) out.push(`/** ${schema.description.split("\n")[0].replace(/\*\//g, "* /")} */`);
  out.push(`export type ${typeName(name)} = ${tsType(schema, "")};`);
  out.push("");
}

for (const { path, method, op, name } of operations) {
  const params = op.parameters ?? [];
  const pathParams = params.filter((p) => p.in === "path");
  const queryParams = params.filter((p) => p.in === "query");
  const args = [];
  for (const p of pathParams) args.push(`${camel(p.name.split(/[^A-Za-z0-9]+/))}: ${tsType(p.schema)}`);
  const body = op.requestBody ? jsonSchemaOf(op.requestBody.content) : undefined;
  if (body) {
    const t = body.kind === "form" ? "FormData" : tsType(body.schema, "");
    args.push(`body${op.requestBody.required ? "" : "?"}: ${t}`);
  }
  if (queryParams.length) {
    const fields = queryParams.map((p) => `${propKey(p.name)}${p.required ? "" : "?"}: ${tsType(p.schema)}`);
    const allOptional = queryParams.every((p) => !p.required);
    args.push(`query${allOptional ? "?" : ""}: { ${fields.join("; ")} }`);
  }
  args.push("options?: RequestOptions");
  const url = path.replace(/\{([^}]+)\}/g, (_, n) => `\${encodeURIComponent(String(${camel(n.split(/[^A-Za-z0-9]+/))}))}`);
  const response = successResponse(op);
  const summary = (op.summary ?? op.description ?? "").split("\n")[0].replace(/\*\//g, "* /");
  out.push(`/** ${method.toUpperCase()} ${path}${summary ? ` — ${summary}` : ""} */`);
  out.push(`export function ${name}(${args.join(", ")}): Promise<${response.type}> {`);
  const init = [];
  if (body) init.push(body.kind === "form" ? "form: body" : "json: body");
  if (queryParams.length) init.push("query");
  if (response.kind === "text") init.push('responseType: "text"');
  init.push("...options");
  out.push(`  return request(${literal(method.toUpperCase())}, \`${url}\`, { ${init.join(", ")} });`);
  out.push("}");
  out.push("");
}

out.push("/** Every operation by `METHOD /path`, for tests and tooling. */");
out.push("export const operations = {");
for (const { path, method, name } of operations) out.push(`  ${literal(`${method.toUpperCase()} ${path}`)}: ${literal(name)},`);
out.push("} as const;");
out.push("");

const text = out.join("\n");
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(outPath, "utf8");
  } catch {}
  if (current !== text) {
    console.error("web/src/api/generated.ts is stale: run `node web/scripts/gen-api.mjs`");
    process.exit(1);
  }
  console.log(`api client up to date (${operations.length} operations)`);
} else {
  writeFileSync(outPath, text);
  console.log(`wrote ${outPath} (${operations.length} operations, ${Object.keys(schemas).length} schemas)`);
}
