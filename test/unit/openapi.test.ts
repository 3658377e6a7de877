import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ZodType } from 'zod';
import { PaymentErrorCode } from '../../domain/errors.js';
import { API_ERRORS, API_ERROR_CODES, isApiErrorCode, type ApiErrorCode } from '../../src/api/errors.js';
import { DOCUMENTED_ERROR_CODES, buildOpenApiDocument, openApiSchemas } from '../../src/api/openapi.js';
import { renderDocs } from '../../src/api/routes/docs.js';

/**
 * The API document (src/api/openapi.ts) against the code: the error codes it names are the ones
 * the code answers (src/api/errors.ts lists them all), route by route as far as the sources tell;
 * every route is in it; its examples and bounds are the validating schemas'.
 */
const limits = { maxAmount: 100_000_000 };
const document = buildOpenApiDocument(limits) as any;
const schemas = openApiSchemas(limits) as Record<string, ZodType>;

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
interface Operation {
  path: string;
  method: string;
  op: any;
}
const operations: Operation[] = Object.entries(document.paths as Record<string, any>).flatMap(([path, item]) =>
  METHODS.filter((m) => item[m]).map((method) => ({ path, method, op: item[method] })),
);
const label = ({ method, path }: Operation) => `${method.toUpperCase()} ${path}`;

/** Every `x-error-codes` list in the document, with the status it stands under. */
function namedCodes(node: unknown, status = '', out: { code: string; status: string }[] = []) {
  if (Array.isArray(node)) node.forEach((n) => namedCodes(n, status, out));
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'x-error-codes') out.push(...(value as string[]).map((code) => ({ code, status })));
      else namedCodes(value, /^\d{3}$/.test(key) ? key : status, out);
    }
  }
  return out;
}

/** The codes an operation's own responses name. */
function codesOf(op: any): Set<string> {
  return new Set(namedCodes(op.responses).map((n) => n.code));
}

const documentedSet = new Set<string>(DOCUMENTED_ERROR_CODES);
const sandboxOnly = API_ERROR_CODES.filter((c) => !documentedSet.has(c));

describe('the error codes of the API document', () => {
  it('names only codes the API can answer, each under the status it is answered with', () => {
    const named = namedCodes(document);
    expect(named.length).toBeGreaterThan(100);
    for (const { code, status } of named) {
      expect(isApiErrorCode(code), code).toBe(true);
      expect(sandboxOnly, code).not.toContain(code);
      expect(status, code).toBe(String(API_ERRORS[code as ApiErrorCode].status));
    }
  });

  it("names every code the API can answer (all but the sandbox control API's)", () => {
    const named = new Set(namedCodes(document).map((n) => n.code));
    expect([...named].sort()).toEqual([...DOCUMENTED_ERROR_CODES].sort());
    expect(sandboxOnly.sort()).toEqual(['discrepancy_refused', 'order_closed', 'order_expired', 'sandbox_unavailable']);
    // ...and nothing the code can answer is left out of the list the document is built from.
    expect(Object.keys(document['x-error-catalog']).sort()).toEqual([...DOCUMENTED_ERROR_CODES].sort());
    for (const [code, entry] of Object.entries(document['x-error-catalog'] as Record<string, any>)) {
      expect(entry).toMatchObject(API_ERRORS[code as ApiErrorCode]);
      expect(entry.meaning, code).toMatch(/\S/);
    }
    expect(document.components.schemas.Error.properties.error.properties.code.enum.sort()).toEqual(
      [...DOCUMENTED_ERROR_CODES].sort(),
    );
  });

  it('gives each error response its codes in the schema and an example of one', () => {
    for (const operation of operations) {
      for (const [status, response] of Object.entries(operation.op.responses as Record<string, any>)) {
        const codes = response['x-error-codes'] as string[] | undefined;
        if (!codes) continue;
        const media = response.content['application/json'];
        const schema = media.schema.anyOf ? media.schema.anyOf.at(-1) : media.schema;
        expect(schema.properties.error.properties.code.enum, `${label(operation)} ${status}`).toEqual(codes);
        if (media.schema.anyOf) continue; // the example is of the other answer of this status
        expect(codes).toContain(media.example.error.code);
        expect(schemas.Error!.safeParse(media.example).success, `${label(operation)} ${status}`).toBe(true);
      }
    }
  });

  it('lets every request meet the response timeout and the last-resort 500', () => {
    for (const operation of operations) {
      expect([...codesOf(operation.op)], label(operation)).toEqual(
        expect.arrayContaining(['internal_error', 'request_timeout']),
      );
      if (operation.path.includes('{'))
        expect([...codesOf(operation.op)], label(operation)).toContain('malformed_path');
    }
  });
});

// ------------------------------------------------------------------------------------------------
// What the sources say each route can answer.

const source = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');

/** The API error codes a piece of source names: as literals, or as `PaymentErrorCode` members. */
function codesIn(text: string): Set<ApiErrorCode> {
  const codes = new Set<ApiErrorCode>();
  for (const [, literal, member] of text.matchAll(/'([a-z_]+)'|PaymentErrorCode\.(\w+)/g)) {
    const code = literal ?? PaymentErrorCode[member as keyof typeof PaymentErrorCode];
    if (code !== undefined && isApiErrorCode(code)) codes.add(code);
  }
  return codes;
}

/** A function's source, from `function name` to its closing brace at the start of a line. */
function functionText(text: string, name: string): string {
  const start = text.search(new RegExp(`function ${name}\\b`));
  expect(start, name).toBeGreaterThanOrEqual(0);
  const end = text.indexOf('\n}\n', start);
  return text.slice(start, end === -1 ? undefined : end);
}

/**
 * The declarations (`const x =`, `function x(`) of a piece of source, at the top level or in the
 * router's factory (not a handler's locals), each up to the next one; with `topLevelOnly`, those
 * at the top level, each up to the next of them.
 */
function declarations(text: string, skip: readonly string[] = [], topLevelOnly = false): Map<string, string> {
  const pattern = /^ {0,2}(?:export\s+)?(?:const|let|function|async function)\s+(\w+)/gm;
  const matches = [...text.matchAll(pattern)].filter((m) => !topLevelOnly || !m[0].startsWith(' '));
  return new Map(
    matches
      .map((m, i) => [m[1] as string, text.slice(m.index, matches[i + 1]?.index ?? text.length)] as const)
      .filter(([name]) => !skip.includes(name)),
  );
}

/** The codes `text` can answer, through the helpers it calls (and theirs). */
function reachableCodes(text: string, helpers: Map<string, string>, seen = new Set<string>()): Set<ApiErrorCode> {
  const codes = codesIn(text);
  for (const [name, body] of helpers) {
    if (seen.has(name) || !new RegExp(`\\b${name}\\b`).test(text)) continue;
    seen.add(name);
    for (const code of reachableCodes(body, helpers, seen)) codes.add(code);
  }
  return codes;
}

const staffAuthSource = source('src/api/staff-auth.ts');
/** Helpers of other modules the routes call, and what they can answer. */
const SHARED_HELPERS = new Map([
  // Any validated input can be invalid; whether a field can be missing or unknown depends on its schema.
  ['parseOrThrow', "'invalid_parameter'"],
  ['requireStaffPermission', functionText(staffAuthSource, 'requireStaffPermission')],
]);

/**
 * The payment service's methods (src/payments/service.ts and the parts it is made of: each part's
 * factory returns them, as its last `return {`) and the codes each answers of itself, through the
 * helpers of its part and the top-level ones of src/payments/ (the errors of
 * src/payments/failures.ts among them). The workflow's refusals (`REFUSALS`, by way of
 * `asApiError`) depend on the Update sent; they are checked on their own below, on the routes
 * whose methods can answer them.
 */
const SERVICE_PARTS = ['service', 'refunds', 'notifications', 'staff', 'checkout'].map(
  (name) => `src/payments/${name}.ts`,
);
const failuresSource = source('src/payments/failures.ts');
const paymentHelpers = new Map(
  readdirSync(new URL('../../src/payments/', import.meta.url))
    .filter((name) => name.endsWith('.ts'))
    .flatMap((name) => [...declarations(source(`src/payments/${name}`), ['REFUSALS'], true)]),
);
const serviceMethods = new Map(
  SERVICE_PARTS.flatMap((file) => {
    const text = source(file);
    const start = [...text.matchAll(/^ {2}return \{$/gm)].at(-1)?.index ?? -1;
    expect(start, file).toBeGreaterThan(0);
    const helpers = new Map([...paymentHelpers, ...declarations(text.slice(0, start))]);
    return [...text.slice(start).matchAll(/^ {4}(?:async )?(\w+)\(/gm)].map((m, i, all) => {
      const seen = new Set<string>();
      const codes = reachableCodes(text.slice(start).slice(m.index, all[i + 1]?.index), helpers, seen);
      return [m[1] as string, { codes, refuses: seen.has('asApiError') }] as const;
    });
  }),
);
const refusalCodes = codesIn(declarations(failuresSource).get('REFUSALS') ?? '');

/** Each router, and where src/api/app.ts mounts it. */
const ROUTERS = [
  { file: 'src/api/routes/payments.ts', factory: 'paymentRoutes', mount: '/v1/payments' },
  { file: 'src/api/routes/vouchers.ts', factory: 'voucherRoutes', mount: '/v1/vouchers' },
  { file: 'src/api/routes/callbacks.ts', factory: 'callbackRoutes', mount: '/v1/callbacks' },
  { file: 'src/api/routes/staff.ts', factory: 'staffRoutes', mount: '/staff/v1' },
  { file: 'src/api/routes/staff-payments.ts', factory: 'staffPaymentRoutes', mount: '/staff/v1' },
  { file: 'src/api/routes/staff-channels.ts', factory: 'staffChannelRoutes', mount: '/staff/v1' },
  { file: 'src/api/routes/staff-stats.ts', factory: 'staffStatsRoutes', mount: '/staff/v1' },
  { file: 'src/api/routes/staff-reconciliations.ts', factory: 'staffReconciliationRoutes', mount: '/staff/v1' },
  { file: 'src/api/routes/codec.ts', factory: 'codecRoutes', mount: '/codec' },
  { file: 'src/api/routes/dashboard.ts', factory: 'dashboardRoutes', mount: '/dashboard' },
  { file: 'src/api/routes/receipts.ts', factory: 'receiptRoutes', mount: '/receipts' },
  { file: 'src/api/routes/checkout.ts', factory: 'checkoutRoutes', mount: '/checkout' },
  { file: 'src/api/routes/health.ts', factory: 'healthRoutes', mount: '' },
  { file: 'src/api/routes/metrics.ts', factory: 'metricsRoutes', mount: '' },
  { file: 'src/api/routes/docs.ts', factory: 'docsRoutes', mount: '' },
];

interface RouteSource {
  router: string;
  method: string;
  /** The documented path it serves, as a pattern (a route in a loop serves several). */
  pattern: RegExp;
  route: string;
  codes: Set<ApiErrorCode>;
  /** Whether it calls a payment service method that answers the workflow's refusals. */
  answersRefusals: boolean;
}

function routesOf({ file, mount }: (typeof ROUTERS)[number]): RouteSource[] {
  const text = source(file);
  const starts = [
    ...text.matchAll(/\.route\(\s*(['`])(.*?)\1\s*\)|router\.(get|post|put|patch|delete)\(\s*(['`])(.*?)\4/g),
  ];
  const helpers = new Map([...SHARED_HELPERS, ...declarations(text.slice(0, starts[0]?.index ?? 0))]);
  return starts.map((m, i) => {
    const segment = text.slice(m.index, starts[i + 1]?.index ?? text.length);
    const route = (m[2] ?? m[5]) as string;
    const method = m[3] ?? /\.(get|post|put|patch|delete)\(/.exec(segment)?.[1] ?? '?';
    const path = `${mount}${route === '/' ? '' : route}`.replace(/:(\w+)/g, '{$1}');
    const pattern = new RegExp(
      `^${path
        .split(/\$\{\w+\}/)
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]+')}$`,
    );
    const codes = reachableCodes(segment, helpers);
    const calls = [...segment.matchAll(/(?<![.\w])payments\.(\w+)\(/g)].map(([call, name]) => {
      const found = serviceMethods.get(name as string);
      expect(found, `${file}: ${call}`).toBeDefined();
      return found ?? { codes: new Set<ApiErrorCode>(), refuses: false };
    });
    for (const call of calls) for (const code of call.codes) codes.add(code);
    return { router: file, method, pattern, route, codes, answersRefusals: calls.some((c) => c.refuses) };
  });
}

const routes = ROUTERS.flatMap(routesOf);

/** The documented operations a route serves: its path, or for a route in a loop each path no other route has. */
function servedBy(route: RouteSource): Operation[] {
  const exact = (o: Operation) => routes.some((r) => !r.route.includes('${') && r.pattern.test(o.path));
  return operations.filter(
    (o) => o.method === route.method && route.pattern.test(o.path) && (!route.route.includes('${') || !exact(o)),
  );
}

describe('the routes of the API document', () => {
  it('knows where src/api/app.ts mounts every router', () => {
    const app = source('src/api/app.ts');
    const mounts = app
      .split('app.use(')
      .slice(1)
      .flatMap((use) => {
        const mount = /^\s*'([^']*)'/.exec(use)?.[1] ?? '';
        return [...use.matchAll(/\b(\w+Routes)\(/g)].map((m) => ({ factory: m[1] as string, mount }));
      })
      .filter((m) => !m.factory.startsWith('sandbox')); // the sandbox is not part of the API
    expect(mounts.sort((a, b) => a.factory.localeCompare(b.factory))).toEqual(
      ROUTERS.map(({ factory, mount }) => ({ factory, mount })).sort((a, b) => a.factory.localeCompare(b.factory)),
    );
  });

  it('documents every route of every router, and documents nothing else', () => {
    expect(routes.length).toBeGreaterThanOrEqual(26);
    for (const route of routes) {
      expect(servedBy(route).length, `${route.method} ${route.route} (${route.router})`).toBeGreaterThan(0);
    }
    for (const operation of operations) {
      expect(
        routes.some((r) => servedBy(r).includes(operation)),
        label(operation),
      ).toBe(true);
    }
  });

  it('names, for each route, every code its handler can answer', () => {
    for (const route of routes) {
      for (const operation of servedBy(route)) {
        expect([...codesOf(operation.op)], `${label(operation)} (${route.router})`).toEqual(
          expect.arrayContaining([...route.codes]),
        );
      }
    }
  });

  it("names each of the refunds workflow's refusals on a route that sends it Updates", () => {
    // Every refusal the service maps is an API error code (any other would leave the API as a 500).
    const refusals = declarations(failuresSource).get('REFUSALS') ?? '';
    const members = [...refusals.matchAll(/PaymentErrorCode\.(\w+)/g)].map(
      (m) => m[1] as keyof typeof PaymentErrorCode,
    );
    expect(members.length).toBeGreaterThanOrEqual(6);
    for (const member of members) expect(isApiErrorCode(PaymentErrorCode[member]), member).toBe(true);
    expect(refusalCodes.size).toBe(members.length);
    const viaRefunds = routes.filter((r) => r.answersRefusals).flatMap(servedBy);
    for (const code of refusalCodes) {
      expect(
        viaRefunds.some((o) => codesOf(o.op).has(code)),
        code,
      ).toBe(true);
    }
  });

  it('names what the request pipeline of each route can answer', () => {
    const errors = source('src/api/errors.ts');
    const bodyCodes = new Set([
      ...codesIn(source('src/api/body.ts')),
      ...codesIn(functionText(errors, 'fromBodyParser')),
      ...codesIn(functionText(errors, 'fromExpress')),
    ]);
    bodyCodes.delete('malformed_path'); // Express answers it for path parameters, checked above
    const platformAuth = codesIn(source('src/api/platform-auth.ts'));
    const rateLimit = codesIn(source('src/api/rate-limit.ts'));
    const idempotency = codesIn(source('src/api/idempotency.ts'));
    const staffAuth = codesIn(functionText(staffAuthSource, 'staffAuth'));
    const storage = codesIn(functionText(errors, 'fromStorage'));
    expect(platformAuth.size).toBe(4);
    expect(idempotency.size).toBe(4);
    expect(staffAuth.size).toBe(2);

    const expectations: [string, (o: Operation) => boolean, Set<ApiErrorCode>][] = [
      [
        'signed',
        (o) => o.path.startsWith('/v1/payments'),
        new Set([...bodyCodes, ...platformAuth, ...rateLimit, ...storage]),
      ],
      ['signed POST', (o) => o.path.startsWith('/v1/payments') && o.method === 'post', idempotency],
      ['public', (o) => o.path.startsWith('/v1/vouchers'), new Set([...bodyCodes, ...rateLimit, ...storage])],
      ['staff', (o) => o.path.startsWith('/staff/v1'), new Set([...bodyCodes, ...staffAuth, ...storage])],
    ];
    for (const [name, applies, codes] of expectations) {
      const matching = operations.filter(applies);
      expect(matching.length, name).toBeGreaterThan(0);
      for (const operation of matching) {
        expect([...codesOf(operation.op)], `${name}: ${label(operation)}`).toEqual(expect.arrayContaining([...codes]));
      }
    }
    // Only the staff routes that need a permission can refuse one.
    for (const operation of operations) {
      expect(codesOf(operation.op).has('staff_forbidden'), label(operation)).toBe(
        operation.op['x-staff-permission'] !== undefined,
      );
    }
  });

  it('tells what any other method on a listed path, or any other path, answers', () => {
    for (const [path, item] of Object.entries(document.paths as Record<string, any>)) {
      const route = routes.find((r) => r.pattern.test(path));
      const answers405 = route !== undefined && /methodNotAllowed\(/.test(source(route.router));
      expect(item['x-other-methods'][answers405 ? '405' : '404']['x-error-codes'], path).toEqual([
        answers405 ? 'method_not_allowed' : 'route_not_found',
      ]);
    }
    expect(document['x-other-paths']['404']['x-error-codes']).toEqual(['route_not_found']);
  });
});

// ------------------------------------------------------------------------------------------------

describe('the schemas and examples of the API document', () => {
  it('gives every operation an example request and an example of each answer, valid by its schema', () => {
    for (const operation of operations) {
      const body = operation.op.requestBody?.content?.['application/json'];
      if (body) {
        const name = body.schema.$ref.split('/').at(-1);
        const parsed = schemas[name]!.safeParse(body.example);
        expect(parsed.success, `${label(operation)} request: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      }
      const answers = Object.entries(operation.op.responses as Record<string, any>).filter(
        ([status]) => Number(status) < 400,
      );
      expect(answers.length, label(operation)).toBeGreaterThan(0);
      for (const [status, response] of answers) {
        const media = response.content?.['application/json'];
        if (!media?.schema?.$ref) continue;
        const name = media.schema.$ref.split('/').at(-1);
        const parsed = schemas[name]!.safeParse(media.example);
        expect(parsed.success, `${label(operation)} ${status}: ${JSON.stringify(parsed.error?.issues)}`).toBe(true);
      }
    }
  });

  it('spells out array items: refunds, timelines, audit entries, list pages', () => {
    const { schemas: components } = document.components;
    const items = (schema: any, field: string) => schema.properties[field].items;
    expect(items(components.Payment, 'refunds').properties).toHaveProperty('refundId');
    expect(items(components.Payment, 'timeline').required).toEqual(['at', 'event']);
    expect(items(components.RefundPage, 'refunds')).toEqual({ $ref: '#/components/schemas/Refund' });
    expect(items(components.AuditPage, 'entries')).toEqual({ $ref: '#/components/schemas/AuditEntry' });
    expect(components.AuditEntry.required).toEqual(
      expect.arrayContaining(['at', 'operator', 'role', 'action', 'target', 'reason', 'before', 'after', 'via']),
    );
    expect(items(components.StaffPaymentPage, 'payments')).toEqual({
      $ref: '#/components/schemas/StaffPaymentSummary',
    });
    expect(components.StaffPaymentPage.required).toContain('nextCursor');
    expect(items(components.StaffPayment, 'audit')).toEqual({ $ref: '#/components/schemas/AuditEntry' });
    expect(components.Refund.properties.requestedBy.anyOf).toHaveLength(2);
  });

  it('shows the bounds validation enforces: an amount of 0 is refused, so the minimum is 1', () => {
    const { schemas: components } = document.components;
    for (const name of ['PaymentRequest', 'RefundRequest', 'StaffRefundRequest']) {
      expect(components[name].properties.amount, name).toMatchObject({ minimum: 1, maximum: limits.maxAmount });
    }
    expect(components.RefundRequest.properties.reason).toMatchObject({ minLength: 1, maxLength: 256 });
    expect(components.RefundRequest.properties.metadata.maxProperties).toBe(20);
    const free = { courseId: 'c', title: 't', unitAmount: 0, quantity: 1 };
    const base = { orderId: 'o', customerId: 'c', currency: 'CNY' };
    expect(schemas.PaymentRequest!.safeParse({ ...base, amount: 0, items: [free] }).success).toBe(false);
    expect(schemas.PaymentRequest!.safeParse({ ...base, amount: 1, items: [{ ...free, unitAmount: 1 }] }).success).toBe(
      true,
    );
    const page = renderDocs(document);
    expect(page).toContain('integer; 1..100000000');
    expect(page).not.toMatch(/<code>amount<\/code><\/td><td>integer; 0\.\./);
  });

  it('holds every bound a request schema shows to what the schema accepts', () => {
    const examples = new Map<string, any>();
    for (const { op } of operations) {
      const body = op.requestBody?.content?.['application/json'];
      if (body) examples.set(body.schema.$ref.split('/').at(-1), body.example);
    }
    let checked = 0;
    for (const [name, example] of examples) {
      if (name === 'PaymentRequest') continue; // its amount must also equal the items' sum (checked above)
      const properties = document.components.schemas[name].properties as Record<string, any>;
      for (const [field, schema] of Object.entries(properties)) {
        const accepts = (value: unknown) => schemas[name]!.safeParse({ ...example, [field]: value }).success;
        if (schema.type === 'integer' && schema.minimum !== undefined) {
          expect(accepts(schema.minimum), `${name}.${field} = minimum`).toBe(true);
          expect(accepts(schema.minimum - 1), `${name}.${field} < minimum`).toBe(false);
          expect(accepts(schema.maximum), `${name}.${field} = maximum`).toBe(true);
          expect(accepts(schema.maximum + 1), `${name}.${field} > maximum`).toBe(false);
          checked += 1;
        }
        if (schema.type === 'string' && schema.maxLength !== undefined && !schema.pattern?.includes('{')) {
          expect(accepts('x'.repeat(schema.minLength ?? 0)), `${name}.${field} = minLength`).toBe(true);
          if (schema.minLength)
            expect(accepts('x'.repeat(schema.minLength - 1)), `${name}.${field} < minLength`).toBe(false);
          expect(accepts('x'.repeat(schema.maxLength)), `${name}.${field} = maxLength`).toBe(true);
          expect(accepts('x'.repeat(schema.maxLength + 1)), `${name}.${field} > maxLength`).toBe(false);
          checked += 1;
        }
      }
    }
    expect(checked).toBeGreaterThanOrEqual(8);
  });
});

describe('the /docs page', () => {
  const page = renderDocs(document);

  it('has a section for every operation, with its fields, examples and error codes', () => {
    expect((page.match(/<section /g) ?? []).length).toBe(operations.length);
    for (const operation of operations) {
      const start = page.indexOf(`<section id="${operation.op.operationId}">`);
      expect(start, label(operation)).toBeGreaterThanOrEqual(0);
      const section = page.slice(start, page.indexOf('</section>', start));
      expect(section).toContain('Example');
      for (const code of codesOf(operation.op)) expect(section, `${label(operation)} ${code}`).toContain(code);
    }
  });

  it('lists array items field by field', () => {
    expect(page).toContain('<code>refunds[].refundId</code>');
    expect(page).toContain('<code>timeline[].event</code>');
    expect(page).toContain('<code>entries[].operator</code>');
    expect(page).toContain('<code>payments[].needsAttention</code>');
    expect(page).toContain('<code>audit[].before</code>');
  });

  it('names every documented error code in its catalogue', () => {
    for (const code of DOCUMENTED_ERROR_CODES) expect(page).toContain(`<code>${code}</code>`);
  });
});
