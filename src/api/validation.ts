import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import addFormatsModule from 'ajv-formats'
import type { FastifyInstance } from 'fastify'

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

/**
 * A string's length in UTF-8 bytes at most N, where a character limit is not enough (bcrypt reads 72
 * bytes of a password and ignores the rest). A schema extension: other tools read it as documentation.
 */
export const MAX_UTF8_BYTES = 'x-max-utf8-bytes'

/**
 * FastAPI's 422 shape, so clients written against the seeds read our validation errors unchanged; a
 * `pattern` that is a named rule (patternRule) reads as that rule, not as a regular expression.
 */
export interface ValidationItem { loc: (string | number)[], msg: string, type: string }

const patternMessages = new Map<string, { msg: string, type: string }>()

/** A `pattern` with the message a client sees when it fails (Ajv alone would print the expression). */
export function patternRule (pattern: string, msg: string, type = 'string_pattern_mismatch'): { pattern: string } {
  patternMessages.set(pattern, { msg, type })
  return { pattern }
}

/**
 * PostgreSQL refuses NUL in text ("invalid byte sequence"): every string a client sends is refused
 * with 422 before any SQL, and the rule is in the schema so that clients and generators know it.
 */
export const noNul = patternRule('^[^\\u0000]*$', 'String must not contain NUL (\\u0000) characters', 'string_nul')

function describe (issue: ErrorObject): { msg: string, type: string } {
  if (issue.keyword === 'pattern') return patternMessages.get(String(issue.params.pattern)) ?? { msg: issue.message ?? 'Invalid value', type: 'string_pattern_mismatch' }
  if (issue.keyword === MAX_UTF8_BYTES) return { msg: issue.message ?? 'String is too long', type: 'string_too_long' }
  return { msg: issue.message ?? 'Invalid value', type: issue.keyword }
}

/** FastAPI's names for where a value was (Fastify says querystring and params). */
const LOCATIONS: Record<string, string> = { querystring: 'query', params: 'path', headers: 'header', body: 'body' }

export function validationItems (issues: readonly ErrorObject[], httpPart: string): ValidationItem[] {
  const context = LOCATIONS[httpPart] ?? httpPart
  return issues.map((issue) => {
    const missing = issue.keyword === 'required' ? String(issue.params.missingProperty) : undefined
    const path = issue.instancePath.split('/').filter(Boolean)
    const loc = [context, ...path, ...(missing ? [missing] : [])].map((part) => /^\d+$/.test(part) ? Number(part) : part)
    return missing ? { loc, msg: 'Field required', type: 'missing' } : { loc, ...describe(issue) }
  })
}

/** RFC 9562 §4's hyphenated form only: ajv-formats also takes `urn:uuid:…`, which PostgreSQL's uuid refuses. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function gatewayAjv (options: Options): Ajv {
  const ajv = new Ajv({ allErrors: false, useDefaults: true, removeAdditional: false, allowUnionTypes: true, ...options })
  addFormats(ajv)
  ajv.addFormat('uuid', UUID)
  // An email's syntax is its field's own `pattern` (auth/user-schemas.ts), the same for every tool that
  // reads the schema; ajv-formats' stricter idea of `format: email` would refuse addresses the schema allows.
  ajv.addFormat('email', true)
  ajv.addKeyword({
    keyword: MAX_UTF8_BYTES,
    type: 'string',
    schemaType: 'number',
    error: { message: ({ schema }) => `String should have at most ${String(schema)} bytes in UTF-8` },
    validate: (limit: number, data: string) => Buffer.byteLength(data, 'utf8') <= limit,
  })
  return ajv
}

/**
 * JSON bodies are validated as they are: no type coercion (`{"name": 12345}` is not a name), and
 * `additionalProperties: false` refuses unknown fields instead of silently dropping them (Fastify's
 * default Ajv does both). Query strings and path parameters arrive as text, so they keep coercion to
 * the documented scalar types.
 */
export function createValidators (): { body: Ajv, text: Ajv } {
  return { body: gatewayAjv({ coerceTypes: false }), text: gatewayAjv({ coerceTypes: true }) }
}

/** The gateway's validation of a body schema outside a route (the CLI checks what the admin API would). */
export function compileBodySchema<T> (schema: object): ValidateFunction<T> {
  return createValidators().body.compile<T>(schema)
}

export function registerValidation (app: FastifyInstance): void {
  const validators = createValidators()
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? validators.body : validators.text).compile(schema))
}
