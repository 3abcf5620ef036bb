import { AjvCompiler } from '@fastify/ajv-compiler';
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { FastifyServerOptions } from 'fastify';

/**
 * Fastify's own schema compilers (Ajv for validation, fast-json-stringify for responses, with the
 * options given to Fastify), but each route's validator and serializer is compiled on its first
 * use instead of at `ready()`. Loam has ~150 routes with TypeBox schemas (several per route);
 * compiling all of them eagerly was ~0.5 s of CPU and ~20 MB at every start, mostly for routes a
 * given deployment never calls. Validation and serialization are unchanged: the same compiler
 * builds the same function, just later. A schema that cannot compile is caught by the route
 * schema test (platform/http/schemas.test.ts), which compiles every route's schemas eagerly.
 */

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>;
/** What Fastify hands a compiler for one part of one route. */
interface RouteSchemaRef {
  schema: unknown;
  method: string;
  url: string;
  httpPart?: string;
  httpStatus?: string;
  contentType?: string;
}
type Compile<F> = (route: RouteSchemaRef) => F;
type BuildCompiler<F> = (externalSchemas: unknown, options: unknown) => Compile<F>;
type Serialize = (data: unknown) => string;

interface AjvValidate {
  (data: unknown, dataCtx?: unknown): unknown;
  errors?: unknown;
  schemaEnv?: unknown;
}

/** Fastify's Ajv settings (server.ts); the bulk-insert worker validates with the same. */
export const AJV_OPTIONS = {
  customOptions: { coerceTypes: 'array' as const, removeAdditional: false, useDefaults: true, allErrors: false },
  plugins: [],
};

/**
 * A request body a route's handler parses and validates itself, to the route's body schema (so the
 * documented contract is unchanged): a content-type parser hands the bytes over instead of parsing
 * them on the event loop. Only the parsers that create one route it to a handler that expects it.
 */
export class RawBody {
  constructor(
    readonly bytes: Buffer,
    readonly format: 'json' | 'ndjson',
  ) {}
}

/** Whether route schemas are compiled eagerly (at `ready()`), as Fastify does by default. */
let eager = false;
export function compileSchemasEagerly(on: boolean): void {
  eager = on;
}

/**
 * Header names are case-insensitive and Node lowercases them; Fastify lowercases a header schema's
 * property names before compiling it unless a custom compiler is installed, which this is. The
 * same normalization is applied here for the top-level `properties` and `required` (what a TypeBox
 * `Type.Object` header schema uses).
 */
function lowerCaseHeaders(schema: unknown): unknown {
  if (!schema || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const s = schema as { properties?: Record<string, unknown>; required?: string[] };
  return {
    ...s,
    ...(s.properties ? { properties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k.toLowerCase(), v])) } : {}),
    ...(Array.isArray(s.required) ? { required: s.required.map((k) => k.toLowerCase()) } : {}),
  };
}

const buildAjv = AjvCompiler() as unknown as BuildCompiler<AjvValidate>;
const buildFjs = SerializerSelector() as unknown as BuildCompiler<Serialize>;

const lazyValidators: BuildCompiler<AjvValidate> = (externalSchemas, options) => {
  const compile = buildAjv(externalSchemas, options);
  return (route: RouteSchemaRef) => {
    const ref = route.httpPart === 'headers' ? { ...route, schema: lowerCaseHeaders(route.schema) } : route;
    let compiled: AjvValidate | undefined = eager ? compile(ref) : undefined;
    const validate: AjvValidate = (data, dataCtx) => {
      if (data instanceof RawBody) return true; // validated by the route's handler
      compiled ??= compile(ref);
      const ok = compiled(data, dataCtx);
      validate.errors = compiled.errors;
      return ok;
    };
    // Fastify passes the parent object (so Ajv may coerce a root value) only to Ajv functions,
    // which it recognizes by `schemaEnv`; every function this compiler returns is one.
    validate.schemaEnv = true;
    return validate;
  };
};

const lazySerializers: BuildCompiler<Serialize> = (externalSchemas, options) => {
  const compile = buildFjs(externalSchemas, options);
  return (route) => {
    if (eager) return compile(route);
    let compiled: Serialize | undefined;
    return (data) => {
      compiled ??= compile(route);
      return compiled(data);
    };
  };
};

/** For Fastify's `schemaController.compilersFactory`. */
export const lazyCompilersFactory = {
  buildValidator: lazyValidators,
  buildSerializer: lazySerializers,
} as unknown as CompilersFactory;
