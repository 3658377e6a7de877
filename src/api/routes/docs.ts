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

function resolve(document: JsonSchema, schema: JsonSchema | undefined): JsonSchema | undefined {
  const target = schema?.$ref;
  if (typeof target !== 'string') return schema;
  const name = target.split('/').at(-1) ?? '';
  return ((document.components as JsonSchema).schemas as Record<string, JsonSchema>)[name];
}

function describeType(schema: JsonSchema): string {
  const parts: string[] = [];
  const type = Array.isArray(schema.type) ? schema.type.map(str).join(' | ') : str(schema.type ?? 'any');
  parts.push(type);
  if (Array.isArray(schema.enum)) parts.push(`one of ${schema.enum.map(str).join(', ')}`);
  if (schema.pattern !== undefined) parts.push(`pattern ${str(schema.pattern)}`);
  if (schema.minimum !== undefined || schema.maximum !== undefined) {
    parts.push(`${str(schema.minimum)}..${str(schema.maximum)}`);
  }
  if (schema.maxLength !== undefined) parts.push(`at most ${str(schema.maxLength)} characters`);
  if (schema.default !== undefined) parts.push(`default ${JSON.stringify(schema.default)}`);
  return parts.join('; ');
}

function fieldsTable(schema: JsonSchema | undefined): string {
  const properties = schema?.properties as Record<string, JsonSchema> | undefined;
  if (!properties) return '';
  const required = new Set((schema?.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties)
    .map(
      ([name, field]) =>
        `<tr><td><code>${escape(name)}</code>${required.has(name) ? '' : ' <span class="opt">optional</span>'}</td>` +
        `<td>${escape(describeType(field))}</td><td>${escape(str(field.description))}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>field</th><th>type</th><th>notes</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** A readable page of the OpenAPI document, rendered on the server (no scripts, no external assets). */
export function renderDocs(document: JsonSchema): string {
  const info = document.info as { title: string; description: string };
  const sections = Object.entries(document.paths as Record<string, Record<string, JsonSchema>>)
    .flatMap(([path, operations]) =>
      Object.entries(operations).map(([method, operation]) => {
        const body = (operation.requestBody as JsonSchema | undefined)?.content as
          | Record<string, JsonSchema>
          | undefined;
        const bodySchema = resolve(document, body?.['application/json']?.schema as JsonSchema | undefined);
        const responses = Object.entries((operation.responses as Record<string, { description: string }>) ?? {})
          .map(([status, r]) => `<li><code>${escape(status)}</code> ${escape(r.description)}</li>`)
          .join('');
        return (
          `<section><h2><span class="method ${method}">${method.toUpperCase()}</span> <code>${escape(path)}</code></h2>` +
          `<p>${escape(str(operation.summary))}</p>${fieldsTable(bodySchema)}<ul>${responses}</ul></section>`
        );
      }),
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(info.title)}</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1f2328}
h1{font-size:1.6rem}h2{font-size:1.1rem;margin:0}section{border:1px solid #d0d7de;border-radius:8px;padding:1rem;margin:1rem 0}
.method{display:inline-block;min-width:3.5rem;text-align:center;border-radius:4px;color:#fff;font-size:.8rem;padding:.1rem .4rem}
.get{background:#1f6feb}.post{background:#2da44e}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border-top:1px solid #d0d7de;text-align:left;padding:.3rem .5rem;vertical-align:top}.opt{color:#656d76;font-size:.8rem}</style>
</head><body><h1>${escape(info.title)}</h1><p>${escape(info.description)}</p>
<p>The machine-readable document: <a href="/openapi.json">/openapi.json</a>.</p>${sections}</body></html>`;
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
