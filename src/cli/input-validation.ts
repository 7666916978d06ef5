import type { ErrorObject } from 'ajv'
import { compileBodySchema } from '../api/validation.js'
import { UsageError } from './command.js'

/*
 * The CLI checks its input against the admin API's own schema objects, compiled by the gateway's own body
 * validator (server/validation.ts), so the two refuse the same values.
 */

/** How each body field is spelt on the command line, for the messages. */
export type FieldNames = Readonly<Record<string, string>>

interface BodySchema { readonly properties: Readonly<Record<string, object>> }

function check (_route: string, schema: object, value: unknown): ErrorObject | undefined {
  const validate = compileBodySchema(schema)
  return validate(value) ? undefined : (validate.errors?.[0] ?? { keyword: 'unknown', instancePath: '', schemaPath: '', params: {}, message: 'is invalid' })
}

function refusal (route: string, issue: ErrorObject, names: FieldNames, field?: string, method = 'POST'): UsageError {
  const missing = issue.keyword === 'required' ? String(issue.params.missingProperty) : undefined
  const name = missing ?? field ?? issue.instancePath.split('/')[1] ?? ''
  const what = missing === undefined ? (issue.message ?? 'is invalid') : 'is required'
  return new UsageError(`${names[name] ?? name} ${what} (the rule of ${method} ${route})`)
}

/** Validates a whole body as the route would (mutating it as Fastify does: defaults applied); throws a UsageError naming the first refused field. */
export function validateAsRoute (route: string, schema: object, body: Record<string, unknown>, names: FieldNames, method = 'POST'): void {
  const issue = check(route, schema, body)
  if (issue !== undefined) throw refusal(route, issue, names, undefined, method)
}

/** Validates some fields of a body by their own schemas, before the rest (a password still to be typed) is known. */
export function validateFields (route: string, schema: BodySchema, fields: Record<string, unknown>, names: FieldNames): void {
  for (const [field, value] of Object.entries(fields)) {
    const fieldSchema = schema.properties[field]
    if (fieldSchema === undefined) throw new Error(`POST ${route} has no body field ${field}`)
    const issue = check(route, fieldSchema, value)
    if (issue !== undefined) throw refusal(route, issue, names, field)
  }
}
