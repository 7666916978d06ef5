import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default

export type Schema = Record<string, unknown>

export interface Parameter { name: string, in: 'path' | 'query' | 'header', required?: boolean, schema: Schema }

export interface Operation {
  readonly method: string
  readonly path: string
  readonly operationId: string
  readonly tags: string[]
  readonly parameters: Parameter[]
  readonly security: unknown[]
  /** The JSON body schema, when the operation takes JSON. */
  readonly jsonBody: Schema | undefined
  readonly bodyRequired: boolean
  /** Any content, streamed (proxied operations). */
  readonly anyBody: boolean
  readonly responses: Record<string, { content?: Record<string, { schema?: Schema }> }>
}

export interface OpenApiDocument {
  openapi: string
  servers?: { url: string }[]
  info: { title: string, description?: string }
  paths: Record<string, Record<string, unknown>>
  components?: { schemas?: Record<string, Schema> }
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** Replaces every local `$ref` (`#/components/schemas/X`) by a copy of what it names. */
export function dereference<T> (value: T, document: OpenApiDocument): T {
  if (Array.isArray(value)) return value.map((item: unknown) => dereference(item, document)) as T
  if (value === null || typeof value !== 'object') return value
  const ref = (value as { $ref?: unknown }).$ref
  if (typeof ref === 'string') {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1]
    const target = name === undefined ? undefined : document.components?.schemas?.[name]
    if (!target) throw new Error(`unresolvable $ref ${ref}`)
    return dereference(target as T, document)
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, dereference(item, document)])) as T
}

/** Every operation of the document, its path-level parameters merged in and every `$ref` resolved. */
export function operationsOf (document: OpenApiDocument): Operation[] {
  const operations: Operation[] = []
  for (const [path, item] of Object.entries(document.paths)) {
    const shared = (item.parameters ?? []) as Parameter[]
    for (const method of METHODS) {
      const raw = item[method] as Record<string, unknown> | undefined
      if (!raw) continue
      const operation = dereference(raw, document) as Record<string, unknown>
      const body = operation.requestBody as { required?: boolean, content: Record<string, { schema?: Schema }> } | undefined
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: String(operation.operationId),
        tags: (operation.tags ?? []) as string[],
        parameters: [...dereference(shared, document), ...((operation.parameters ?? []) as Parameter[])],
        security: (operation.security ?? []) as unknown[],
        jsonBody: body?.content['application/json']?.schema,
        bodyRequired: body?.required === true,
        anyBody: body?.content['*/*'] !== undefined,
        responses: operation.responses as Operation['responses'],
      })
    }
  }
  return operations
}

/**
 * A plain JSON Schema 2020-12 validator, as a third-party tool reads the document: standard formats,
 * no knowledge of how the gateway itself validates. Of the extension keywords, only the one the
 * document states a rule with is honoured: `x-max-utf8-bytes` (what `maxLength` cannot say).
 */
export function schemaValidator (options: { coerceTypes?: boolean } = {}): (schema: Schema) => ValidateFunction {
  const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: options.coerceTypes ?? false })
  addFormats(ajv)
  ajv.addKeyword({
    keyword: 'x-max-utf8-bytes',
    type: 'string',
    validate: (limit: number, data: string) => new TextEncoder().encode(data).length <= limit,
  })
  const compiled = new Map<Schema, ValidateFunction>()
  return (schema) => {
    let validate = compiled.get(schema)
    if (!validate) {
      validate = ajv.compile(schema)
      compiled.set(schema, validate)
    }
    return validate
  }
}
