import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import fc from 'fast-check'
import { generateSync } from 'json-schema-faker'
import { request } from 'undici'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { insertCompany } from './helpers/fixtures.js'
import { operationsOf, schemaValidator, type OpenApiDocument, type Operation, type Parameter, type Schema } from './helpers/openapi.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

/**
 * Schemathesis' checks, in our own test (schemathesis is Python, which these machines cannot install):
 * every operation of the served /openapi.json gets generated requests, with an admin token and without,
 * valid ones (json-schema-faker, seeded from fast-check) and invalid ones (a mutation that a plain JSON
 * Schema validator confirms breaks the schema). Bounded: a few runs per operation and a time limit.
 * Reproduce a failure with OPENAPI_PROPERTY_SEED=<the seed printed>; more runs with OPENAPI_PROPERTY_RUNS;
 * OPENAPI_PROPERTY_TRACE=<operationId> prints every request sent to that operation.
 */
const RUNS_PER_OPERATION = Number(process.env.OPENAPI_PROPERTY_RUNS ?? 6)
const SEED = Number(process.env.OPENAPI_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31))
const TIME_LIMIT_MS = 30_000

const isBodyless = (method: string): boolean => method === 'HEAD'

/** What a word generator never produces and PostgreSQL, JSON or bcrypt treat specially (schemathesis found NUL). */
const AWKWARD = ['\u0000', 'é', '\u0000', '😀', "'", '\u0000', '"', '\\', ' ', '\u202e', 'ß'.repeat(40)]

/**
 * Each string property of `body` with an awkward character appended, where `seed` says so and the body
 * stays valid: what the schema allows must not break the gateway.
 */
function withAwkwardStrings (body: unknown, seed: number, isValid: (candidate: unknown) => boolean): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body
  let result = body as Record<string, unknown>
  for (const [index, [key, value]] of Object.entries(result).entries()) {
    const pick = seed + index * 7
    if (typeof value !== 'string' || pick % 4 === 0) continue
    const candidate = { ...result, [key]: `${value}${AWKWARD[Math.floor(pick / 4) % AWKWARD.length] as string}` }
    if (isValid(candidate)) result = candidate
  }
  return result
}

interface Case {
  readonly operation: Operation
  readonly withToken: boolean
  readonly path: Record<string, string>
  readonly query: Record<string, string>
  /** undefined: no body. */
  readonly body: { json: unknown } | { raw: string } | undefined
}

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, text: string }

const describeCase = (c: Case, url: string): string =>
  `${c.operation.method} ${url} ${c.withToken ? '(admin token)' : '(no token)'} body=${JSON.stringify(c.body)?.slice(0, 300)}`

for (const { backend, skip } of await backends()) {
  describe(`every operation of /openapi.json under generated requests [${backend}]`, { skip }, () => {
    let gateway: TestGateway
    let upstream: StandInUpstream
    let admin: TestUser
    let token: string
    let document: OpenApiDocument
    let operations: Operation[]
    let known: Record<string, string>
    const bodyValidator = schemaValidator()
    const textValidator = schemaValidator({ coerceTypes: true })
    let cases = 0
    let statuses = new Map<number, number>()

    before(async () => {
      upstream = await startUpstream()
      const defaultCompanyId = randomUUID()
      gateway = await startGateway({
        backend,
        env: {
          GATEWAY_INGEST_SERVICE_URL: upstream.url,
          GATEWAY_QUERY_SERVICE_URL: upstream.url,
          GATEWAY_AUTH_SERVICE_URL: upstream.url,
          GATEWAY_ALLOW_SELF_REGISTRATION: 'true',
          GATEWAY_DEFAULT_COMPANY_ID: defaultCompanyId,
          // Generated requests all come from 127.0.0.1: a per-IP budget would turn most of them into 429s.
          GATEWAY_RATE_LIMIT_IP_PER_MINUTE: '1000000',
        },
      })
      await insertCompany(gateway, defaultCompanyId, 'Default Co')
      const company = await gateway.company()
      admin = await gateway.user({ companyId: company.id, roles: ['admin', 'user'] })
      token = await gateway.tokenFor(admin)
      // Values the generator may use instead of random ones, so that successes are reached too.
      known = { email: admin.email, password: admin.password, company_id: company.id, companyId: company.id }
      document = await (await fetch(`${gateway.url}/openapi.json`)).json() as OpenApiDocument
      operations = operationsOf(document)
    })
    after(async () => {
      await gateway?.close()
      await upstream?.close()
    })

    const generate = (schema: Schema, seed: number): unknown => generateSync(schema as never, { seed, optionalsProbability: 0.8 })

    /** A valid value for every parameter and the body, from the schemas, or a known value where one exists. */
    function validCase (operation: Operation, seed: number, withToken: boolean, knownBits: number): Case | undefined {
      // Each name with a known value takes it three times in four, by its own two bits of `knownBits`.
      const takesKnown = (name: string): boolean => known[name] !== undefined && ((knownBits >> (2 * Object.keys(known).indexOf(name))) & 3) !== 0
      const values: Record<'path' | 'query', Record<string, string>> = { path: {}, query: {} }
      for (const [index, parameter] of operation.parameters.entries()) {
        if (parameter.in !== 'path' && parameter.in !== 'query') continue
        if (parameter.in === 'query' && !parameter.required && (seed + index) % 2 === 0) continue
        const value = takesKnown(parameter.name) ? known[parameter.name] : generate(parameter.schema, seed + index)
        values[parameter.in][parameter.name] = String(value)
        if (!textValidator(parameter.schema)(String(value))) return undefined
      }
      // A rest-of-path parameter: nested as real clients send them.
      if (operation.path.endsWith('/{path}')) values.path.path = `${values.path.path ?? 'x'}/${seed % 1000}`
      let body: Case['body']
      if (operation.jsonBody) {
        let json = generate(operation.jsonBody, seed)
        if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
          json = { ...json, ...Object.fromEntries(Object.keys(json).filter(takesKnown).map((key) => [key, known[key]])) }
        }
        if (!bodyValidator(operation.jsonBody)(json)) return undefined
        body = { json: withAwkwardStrings(json, seed, bodyValidator(operation.jsonBody)) }
      } else if (operation.anyBody && seed % 2 === 0) {
        body = { raw: `generated body ${seed}` }
      }
      return { operation, withToken, path: values.path, query: values.query, body }
    }

    /** A body or parameter changed so that it breaks the schema (checked), or undefined when this mutation does not apply. */
    function invalidCase (valid: Case, mutation: number): Case | undefined {
      const { operation } = valid
      const schema = operation.jsonBody
      if (schema && valid.body && 'json' in valid.body) {
        const json = valid.body.json
        const properties = (schema.properties ?? {}) as Record<string, Schema>
        const names = Object.keys(properties)
        const name = names[mutation % Math.max(names.length, 1)]
        const object = json !== null && typeof json === 'object' ? { ...json as Record<string, unknown> } : {}
        const candidates: unknown[] = [12345, 'a string', [object]]
        if (name !== undefined) {
          const property = properties[name] as Schema
          const types = [property.type].flat()
          candidates.push({ ...object, [name]: types.includes('string') ? 12345 : 'not-a-number' })
          candidates.push({ ...object, [name]: `${typeof object[name] === 'string' ? object[name] as string : 'a'}\u0000` })
          if (typeof property.maxLength === 'number') candidates.push({ ...object, [name]: 'x'.repeat(property.maxLength + 1) })
          candidates.push(Object.fromEntries(Object.entries(object).filter(([key]) => key !== ((schema.required ?? []) as string[])[0])))
        }
        if (schema.additionalProperties === false) candidates.push({ ...object, unexpected_field: 1 })
        const broken = candidates[Math.floor(mutation / Math.max(names.length, 1)) % candidates.length]
        return bodyValidator(schema)(broken) ? undefined : { ...valid, body: { json: broken } }
      }
      const parameters = operation.parameters.filter((parameter) => parameter.in === 'query' || parameter.in === 'path')
      const parameter: Parameter | undefined = parameters[mutation % Math.max(parameters.length, 1)]
      if (!parameter || operation.tags?.includes('proxy')) return undefined
      const candidates = ['abc', '1.5', '1e99', '-1', `urn:uuid:${randomUUID()}`, 'x\u0000']
      const value = candidates[Math.floor(mutation / parameters.length) % candidates.length] as string
      if (textValidator(parameter.schema)(value)) return undefined
      const where = parameter.in === 'path' ? 'path' : 'query'
      return { ...valid, [where]: { ...valid[where], [parameter.name]: value } }
    }

    function urlOf (c: Case): string {
      const path = c.operation.path.replace(/\{([^}]+)\}/g, (_match, name: string) => {
        const value = c.path[name] ?? ''
        return name === 'path' && c.operation.path.endsWith('/{path}') ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value)
      })
      const query = new URLSearchParams(c.query).toString()
      return `${path}${query ? `?${query}` : ''}`
    }

    async function send (c: Case): Promise<{ url: string, answer: Answer }> {
      cases += 1
      const url = urlOf(c)
      if (process.env.OPENAPI_PROPERTY_TRACE === c.operation.operationId) console.log(describeCase(c, url))
      const headers: Record<string, string> = c.withToken ? { authorization: `Bearer ${token}` } : {}
      let body: string | undefined
      if (c.body && 'json' in c.body) {
        headers['content-type'] = 'application/json'
        body = JSON.stringify(c.body.json)
      } else if (c.body) {
        headers['content-type'] = 'application/octet-stream'
        body = c.body.raw
      }
      const response = await request(`${gateway.url}${url}`, { method: c.operation.method as 'GET', headers, body, headersTimeout: 10_000, bodyTimeout: 10_000 })
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
      return { url, answer: { status: response.statusCode, headers: response.headers, text: await response.body.text() } }
    }

    /** Schemathesis' not_a_server_error, status_code_conformance, content_type_conformance and response_schema_conformance. */
    function checkConformance (c: Case, url: string, answer: Answer): void {
      const what = `${describeCase(c, url)} → ${answer.status} ${answer.text.slice(0, 300)}`
      assert.ok(answer.status < 500, `a server error: ${what}`)
      const documented = c.operation.responses[String(answer.status)] ?? c.operation.responses.default
      assert.ok(documented, `status not documented for ${c.operation.operationId}: ${what}`)
      assert.ok(answer.headers['x-request-id'], `no X-Request-ID: ${what}`)
      if (!documented.content || isBodyless(c.operation.method) || answer.text === '') return
      const type = String(answer.headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''
      const media = documented.content[type] ?? documented.content['*/*']
      assert.ok(media, `content type ${type} not documented (${Object.keys(documented.content).join(', ')}): ${what}`)
      if (type !== 'application/json' || !media.schema) return
      const validate = bodyValidator(media.schema)
      assert.ok(validate(JSON.parse(answer.text)), `body does not match its schema (${JSON.stringify(validate.errors)}): ${what}`)
    }

    /**
     * One fast-check property per operation, in two passes so that a time limit (a loaded machine) still
     * leaves every operation tried: one run each, then the rest. Seeds derive from SEED. Runs past the
     * deadline are skipped rather than interrupted, so no request is still in flight when a test ends.
     */
    async function forEveryOperation (t: { diagnostic: (message: string) => void }, property: (operation: Operation, seed: number, withToken: boolean, extra: number) => Promise<boolean>): Promise<void> {
      const started = performance.now()
      cases = 0
      statuses = new Map()
      let skipped = 0
      t.diagnostic(`seed ${SEED} (OPENAPI_PROPERTY_SEED=${SEED} reproduces this run), ${RUNS_PER_OPERATION} runs per operation`)
      // A token three times in four.
      const withToken = fc.nat(3).map((pick) => pick !== 0)
      // Operations that read a body or a query get more runs: there is more to find.
      const runsOf = (operation: Operation): number =>
        operation.jsonBody || operation.parameters.some((parameter) => parameter.in === 'query') ? 3 * RUNS_PER_OPERATION : RUNS_PER_OPERATION
      for (const pass of [0, 1]) {
        for (const [index, operation] of operations.entries()) {
          const numRuns = pass === 0 ? 1 : runsOf(operation) - 1
          if (numRuns <= 0) continue
          await fc.assert(
            fc.asyncProperty(fc.nat(), withToken, fc.nat(), async (seed, token, extra) => {
              if (performance.now() - started > TIME_LIMIT_MS) {
                skipped += 1
                return true
              }
              return property(operation, seed, token, extra)
            }),
            { seed: SEED + 1000 * pass + index, numRuns, endOnFailure: true, includeErrorInReport: true }
          )
        }
      }
      const seen = [...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ')
      t.diagnostic(`${cases} requests to ${operations.length} operations in ${((performance.now() - started) / 1000).toFixed(1)} s; statuses ${seen}` +
        (skipped > 0 ? `; ${skipped} runs skipped past the ${TIME_LIMIT_MS / 1000} s limit` : ''))
    }

    test('the document is worth testing: operations with and without a token, proxied ones included', () => {
      assert.ok(operations.length >= 30, `only ${operations.length} operations`)
      assert.ok(operations.some((operation) => operation.path === '/api/v1/ingest/{path}'))
      assert.ok(operations.some((operation) => operation.security.length === 0))
      assert.ok(operations.every((operation) => operation.operationId !== 'undefined'))
    })

    test('valid requests: no 5xx, every status documented, every body matching its documented schema', async (t) => {
      await forEveryOperation(t, async (operation, seed, withToken, extra) => {
        const c = validCase(operation, seed, withToken, extra)
        fc.pre(c !== undefined)
        const { url, answer } = await send(c)
        checkConformance(c, url, answer)
        assert.notEqual(answer.status, 422, `a request the schema allows was refused: ${describeCase(c, url)} → ${answer.text.slice(0, 300)}`)
        return true
      })
    })

    test('invalid bodies, paths and queries are refused with 422, before any other answer but 429', async (t) => {
      await forEveryOperation(t, async (operation, seed, _withToken, mutation) => {
        // Without a token, a protected operation answers 401 before it reads the body.
        const valid = validCase(operation, seed, operation.security.length > 0, mutation)
        const c = valid && invalidCase(valid, mutation)
        if (!c) return true
        const { url, answer } = await send(c)
        checkConformance(c, url, answer)
        const limited = answer.status === 429 && c.operation.responses['429'] !== undefined
        assert.ok(answer.status === 422 || limited, `an invalid request was not refused with 422: ${describeCase(c, url)} → ${answer.status} ${answer.text.slice(0, 300)}`)
        return true
      })
    })
  })
}
