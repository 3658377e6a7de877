import { Router } from 'express';
import { methodNotAllowed } from '../errors.js';

type JsonSchema = Record<string, unknown>;

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

/** A schema keyword's value as text. */
function str(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : JSON.stringify(value);
}

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

function refName(schema: JsonSchema | undefined): string | undefined {
  const target = schema?.$ref;
  return typeof target === 'string' ? target.split('/').at(-1) : undefined;
}

/** The schema a `$ref` names (with any keywords beside the `$ref` laid over it). */
function resolve(document: JsonSchema, schema: JsonSchema | undefined): JsonSchema | undefined {
  const name = refName(schema);
  if (name === undefined || !schema) return schema;
  const { $ref: _ref, ...beside } = schema;
  const target = ((document.components as JsonSchema).schemas as Record<string, JsonSchema>)[name];
  return target ? { ...target, ...beside, properties: target.properties } : beside;
}

function range(min: unknown, max: unknown, unit: string): string | undefined {
  if (min === undefined && max === undefined) return undefined;
  if (min === undefined) return `at most ${str(max)}${unit}`;
  if (max === undefined) return `at least ${str(min)}${unit}`;
  return `${str(min)}..${str(max)}${unit}`;
}

function describeType(document: JsonSchema, schema: JsonSchema): string {
  const name = refName(schema);
  if (name !== undefined) return name;
  const variants = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (variants) {
    return variants
      .map((v) => {
        const resolved = resolve(document, v) ?? {};
        const properties = resolved.properties as Record<string, JsonSchema> | undefined;
        if (!properties || refName(v) !== undefined) return describeType(document, v);
        const keys = Object.entries(properties).map(([key, p]) =>
          p.const === undefined ? key : `${key}: ${JSON.stringify(p.const)}`,
        );
        return `{ ${keys.join(', ')} }`;
      })
      .join(' | ');
  }
  const parts: string[] = [];
  const type = Array.isArray(schema.type) ? schema.type.map(str).join(' | ') : str(schema.type ?? 'any');
  if (type === 'array') {
    const items = (schema.items ?? {}) as JsonSchema;
    parts.push(`array of ${describeType(document, items).split('; ')[0] ?? 'any'}`);
  } else {
    parts.push(type);
  }
  if (schema.const !== undefined) parts.push(`always ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum)) parts.push(`one of ${schema.enum.map(str).join(', ')}`);
  if (schema.format !== undefined) parts.push(str(schema.format));
  if (schema.pattern !== undefined) parts.push(`pattern ${str(schema.pattern)}`);
  const bounds = [
    range(schema.minimum, schema.maximum, ''),
    range(schema.minLength, schema.maxLength, ' characters'),
    range(schema.minItems, schema.maxItems, ' items'),
    range(undefined, schema.maxProperties, ' entries'),
  ];
  parts.push(...bounds.filter((b): b is string => b !== undefined));
  const keys = schema.propertyNames as JsonSchema | undefined;
  if (keys?.pattern !== undefined) parts.push(`keys: pattern ${str(keys.pattern)}`);
  const values = schema.additionalProperties;
  if (typeof values === 'object' && values !== null && Object.keys(values).length > 0) {
    parts.push(`values: ${describeType(document, values as JsonSchema)}`);
  }
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join('; ');
}

interface Row {
  name: string;
  required: boolean;
  field: JsonSchema;
}

/** The object schemas a field holds: itself, its array items, or the object variants of a union. */
function nestedObjects(document: JsonSchema, field: JsonSchema): { suffix: string; schema: JsonSchema }[] {
  const resolved = resolve(document, field) ?? {};
  if (resolved.properties) return [{ suffix: '.', schema: resolved }];
  if (resolved.type === 'array' && resolved.items) {
    return nestedObjects(document, resolved.items as JsonSchema).map((n) => ({ ...n, suffix: `[]${n.suffix}` }));
  }
  const variants = (resolved.anyOf ?? resolved.oneOf) as JsonSchema[] | undefined;
  return (variants ?? []).flatMap((v) => nestedObjects(document, v));
}

/** Every field of an object schema, nested ones as `items[].courseId`, `voucher.digest`. */
function fieldRows(document: JsonSchema, schema: JsonSchema | undefined, prefix = '', depth = 0): Row[] {
  const resolved = resolve(document, schema);
  const properties = resolved?.properties as Record<string, JsonSchema> | undefined;
  if (!properties || depth > 4) return [];
  const required = new Set((resolved?.required as string[] | undefined) ?? []);
  const seen = new Set<string>();
  return Object.entries(properties).flatMap(([key, field]) => {
    const name = `${prefix}${key}`;
    const rows: Row[] = [{ name, required: required.has(key), field }];
    for (const nested of nestedObjects(document, field)) {
      for (const row of fieldRows(document, nested.schema, `${name}${nested.suffix}`, depth + 1)) {
        if (seen.has(row.name)) continue;
        seen.add(row.name);
        rows.push(row);
      }
    }
    return rows;
  });
}

function fieldsTable(document: JsonSchema, schema: JsonSchema | undefined): string {
  const rows = fieldRows(document, schema)
    .map(
      ({ name, required, field }) =>
        `<tr><td><code>${escape(name)}</code>${required ? '' : ' <span class="opt">optional</span>'}</td>` +
        `<td>${escape(describeType(document, field))}</td>` +
        `<td>${escape(str(field.description ?? resolve(document, field)?.description))}</td></tr>`,
    )
    .join('');
  return rows
    ? `<table><thead><tr><th>field</th><th>type</th><th>notes</th></tr></thead><tbody>${rows}</tbody></table>`
    : '';
}

function parametersTable(document: JsonSchema, parameters: JsonSchema[] | undefined): string {
  if (!parameters?.length) return '';
  const rows = parameters
    .map(
      (p) =>
        `<tr><td><code>${escape(str(p.name))}</code>${p.required ? '' : ' <span class="opt">optional</span>'}</td>` +
        `<td>${escape(str(p.in))}</td><td>${escape(describeType(document, (p.schema ?? {}) as JsonSchema))}</td>` +
        `<td>${escape(str(p.description))}</td></tr>`,
    )
    .join('');
  return `<h3>Parameters</h3><table><thead><tr><th>name</th><th>in</th><th>type</th><th>notes</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function example(value: unknown, label: string): string {
  if (value === undefined) return '';
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return `<details><summary>${escape(label)}</summary><pre>${escape(text)}</pre></details>`;
}

function securityNote(document: JsonSchema, security: Record<string, unknown>[] | undefined): string {
  const schemes = ((document.components as JsonSchema).securitySchemes ?? {}) as Record<string, JsonSchema>;
  const names = (security ?? []).flatMap((requirement) => Object.keys(requirement));
  if (names.length === 0) return '<p class="auth">No authentication.</p>';
  const parts = names.map((n) => {
    const scheme = schemes[n] ?? {};
    return scheme.type === 'http' ? `Authorization: Bearer (${n})` : str(scheme.name);
  });
  return `<p class="auth">Authentication: ${escape(parts.join(', '))}.</p>`;
}

type ErrorCatalog = Record<string, { status: number; type: string; meaning: string }>;

function errorList(catalog: ErrorCatalog, codes: string[]): string {
  return codes
    .map((c) => `<code>${escape(c)}</code> <span class="meaning">${escape(catalog[c]?.meaning ?? '')}</span>`)
    .join('<br>');
}

/** One operation's section: what it takes, what it answers, and every error code it can answer. */
function operationSection(
  document: JsonSchema,
  path: string,
  method: string,
  operation: JsonSchema,
  otherMethods: Record<string, JsonSchema> | undefined,
): string {
  const catalog = (document['x-error-catalog'] ?? {}) as ErrorCatalog;
  const body = (operation.requestBody as JsonSchema | undefined)?.content as Record<string, JsonSchema> | undefined;
  const bodyJson = body?.['application/json'];
  const request = bodyJson
    ? `<h3>Request body${(operation.requestBody as JsonSchema).required ? '' : ' (optional)'}` +
      `${refName(bodyJson.schema as JsonSchema) ? ` <code>${escape(refName(bodyJson.schema as JsonSchema) ?? '')}</code>` : ''}</h3>` +
      fieldsTable(document, bodyJson.schema as JsonSchema) +
      example(bodyJson.example, 'Example request')
    : '';
  const responses = Object.entries((operation.responses ?? {}) as Record<string, JsonSchema>);
  const answers = responses
    .filter(
      ([, r]) =>
        !r['x-error-codes'] ||
        // A status that answers something besides errors (a channel's acknowledgement, say).
        Object.values((r.content ?? {}) as Record<string, JsonSchema>).some(
          (c) => refName(c.schema as JsonSchema | undefined) !== 'Error',
        ),
    )
    .map(([status, r]) => {
      const content = (r.content ?? {}) as Record<string, JsonSchema>;
      const media = Object.entries(content)
        .map(([type, c]) => {
          const schema = c.schema as JsonSchema | undefined;
          const shown = schema?.anyOf ? (schema.anyOf as JsonSchema[])[0] : schema;
          const name = refName(shown);
          return (
            `<p class="media"><code>${escape(type)}</code>${name ? ` <code>${escape(name)}</code>` : ''}</p>` +
            fieldsTable(document, shown) +
            example(c.example, `Example ${status} response`)
          );
        })
        .join('');
      return `<h3><code>${escape(status)}</code> ${escape(str(r.description).split('; or an error')[0] ?? '')}</h3>${media}`;
    })
    .join('');
  const errorRows = responses
    .filter(([, r]) => Array.isArray(r['x-error-codes']))
    .map(
      ([status, r]) =>
        `<tr><td><code>${escape(status)}</code></td><td>${errorList(catalog, r['x-error-codes'] as string[])}</td></tr>`,
    );
  for (const [status, r] of Object.entries(otherMethods ?? {})) {
    errorRows.push(
      `<tr><td><code>${escape(status)}</code></td><td>${escape(str(r.description).replace(/: `.*$/, ''))}: ` +
        `${errorList(catalog, (r['x-error-codes'] as string[] | undefined) ?? [])}</td></tr>`,
    );
  }
  const errors = errorRows.length
    ? `<h3>Errors</h3><table class="errors"><thead><tr><th>status</th><th>code</th></tr></thead><tbody>${errorRows.join('')}</tbody></table>`
    : '';
  const id = str(operation.operationId);
  return (
    `<section id="${escape(id)}"><h2><span class="method ${escape(method)}">${escape(method.toUpperCase())}</span> <code>${escape(path)}</code></h2>` +
    `<p>${escape(str(operation.summary))}</p>` +
    (operation.description ? `<p>${escape(str(operation.description))}</p>` : '') +
    securityNote(document, operation.security as Record<string, unknown>[] | undefined) +
    parametersTable(document, operation.parameters as JsonSchema[] | undefined) +
    request +
    answers +
    errors +
    '</section>'
  );
}

/** A readable page of the OpenAPI document, rendered on the server (no scripts, no external assets). */
export function renderDocs(document: JsonSchema): string {
  const info = document.info as { title: string; description: string };
  const catalog = (document['x-error-catalog'] ?? {}) as ErrorCatalog;
  const operations = Object.entries(document.paths as Record<string, Record<string, JsonSchema>>).flatMap(
    ([path, item]) =>
      Object.entries(item)
        .filter(([method]) => HTTP_METHODS.has(method))
        .map(([method, operation]) => ({
          path,
          method,
          operation,
          otherMethods: item['x-other-methods'] as Record<string, JsonSchema> | undefined,
        })),
  );
  const tags = (document.tags as { name: string; description: string }[] | undefined) ?? [];
  const byTag = tags.map((tag) => ({
    tag,
    operations: operations.filter((o) => (o.operation.tags as string[] | undefined)?.[0] === tag.name),
  }));
  const contents = byTag
    .map(
      ({ tag, operations: ops }) =>
        `<li>${escape(tag.name)}: ${ops
          .map(
            (o) =>
              `<a href="#${escape(str(o.operation.operationId))}">${escape(o.method.toUpperCase())} ${escape(o.path)}</a>`,
          )
          .join(', ')}</li>`,
    )
    .join('');
  const sections = byTag
    .map(
      ({ tag, operations: ops }) =>
        `<h2 class="tag">${escape(tag.name)}</h2><p>${escape(tag.description)}</p>` +
        ops.map((o) => operationSection(document, o.path, o.method, o.operation, o.otherMethods)).join(''),
    )
    .join('');
  const otherPaths = Object.entries((document['x-other-paths'] ?? {}) as Record<string, JsonSchema>)
    .map(
      ([status, r]) =>
        `<tr><td><code>${escape(status)}</code></td><td>${escape(str(r.description))}: ${errorList(catalog, (r['x-error-codes'] as string[] | undefined) ?? [])}</td></tr>`,
    )
    .join('');
  const catalogRows = Object.entries(catalog)
    .map(
      ([code, e]) =>
        `<tr><td><code>${escape(code)}</code></td><td>${escape(String(e.status))}</td><td><code>${escape(e.type)}</code></td><td>${escape(e.meaning)}</td></tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:1040px;margin:2rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.6rem}h2{font-size:1.1rem;margin:0}h2.tag{font-size:1.3rem;margin:2rem 0 .25rem}h3{font-size:.95rem;margin:.9rem 0 .3rem}
section{border:1px solid #d0d7de;border-radius:8px;padding:1rem;margin:1rem 0}
.method{display:inline-block;min-width:3.5rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .4rem}
.get{background:#1f6feb}.post{background:#2da44e}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border-top:1px solid #d0d7de;text-align:left;padding:.3rem .5rem;vertical-align:top}.opt,.auth,.meaning{color:#656d76;font-size:.85rem}
pre{background:#f6f8fa;border-radius:6px;padding:.6rem;overflow:auto;font-size:.8rem}summary{cursor:pointer;color:#0969da}.media{margin:.2rem 0}</style>
</head><body><h1>${escape(info.title)}</h1><p>${escape(info.description)}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>. Error codes: <a href="#error-codes">all of them</a>.</p>
<ul>${contents}</ul>${sections}
<h2 class="tag">Any other path</h2><table class="errors"><tbody>${otherPaths}</tbody></table>
<h2 class="tag" id="error-codes">Error codes</h2><table><thead><tr><th>code</th><th>status</th><th>type</th><th>meaning</th></tr></thead><tbody>${catalogRows}</tbody></table>
</body></html>`;
}

/** `GET /openapi.json` (the document) and `GET /docs` (the same, for people). */
export function docsRoutes(document: JsonSchema): Router {
  const router = Router();
  const page = renderDocs(document);
  router
    .route('/openapi.json')
    .get((_req, res) => {
      res.json(document);
    })
    .all(methodNotAllowed(['GET']));
  router
    .route('/docs')
    .get((_req, res) => {
      res.type('html').send(page);
    })
    .all(methodNotAllowed(['GET']));
  return router;
}
