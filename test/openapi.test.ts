import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core'
import { LOGO_SVG } from '../src/api/brand.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { operationsOf, type OpenApiDocument } from './helpers/openapi.js'

/** What `redocly lint` reports for the document the running gateway serves, with its default (recommended) rules. */
async function lintServed (gateway: TestGateway): Promise<NormalizedProblem[]> {
  const url = `${gateway.url}/openapi.json`
  const source = await (await fetch(url)).text()
  return lintFromString({ source, absoluteRef: url, config: await createConfig({ extends: ['recommended'] }) })
}

const summary = (problems: NormalizedProblem[]): string =>
  problems.map((problem) => `${problem.severity} ${problem.ruleId}: ${problem.message} at ${problem.location[0]?.pointer ?? ''}`).join('\n')

describe('the OpenAPI document and the documentation pages', () => {
  let gateway: TestGateway
  let document: OpenApiDocument

  before(async () => {
    // Every prefix of the default table, the optional auth service included.
    gateway = await startGateway({ env: { GATEWAY_AUTH_SERVICE_URL: 'http://127.0.0.1:9' } })
    document = await (await fetch(`${gateway.url}/openapi.json`)).json() as OpenApiDocument
  })
  after(async () => { await gateway?.close() })

  test('Redocly lint of the served /openapi.json: 0 errors (was 23: undefined `*` parameters, public operations without security, empty servers)', async (t) => {
    const problems = await lintServed(gateway)
    const errors = problems.filter((problem) => problem.severity === 'error')
    assert.deepEqual(errors, [], summary(errors))
    t.diagnostic(`${problems.length - errors.length} warnings: ${summary(problems)}`)
  })

  test('every operation has an operationId, says its security (empty on public ones), and documents its errors with the shared {"detail"} schemas', () => {
    assert.ok(document.servers?.length, 'servers is not empty')
    const operations = operationsOf(document)
    const ids = operations.map((operation) => operation.operationId)
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique')
    for (const operation of operations) {
      const raw = document.paths[operation.path]?.[operation.method.toLowerCase()] as { operationId?: string, security?: unknown[], responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> }
      const name = `${operation.method} ${operation.path}`
      assert.ok(raw.operationId, `${name} has an operationId`)
      assert.ok(Array.isArray(raw.security), `${name} states its security`)
      const errors = Object.entries(raw.responses).filter(([status]) => /^[45]\d\d$/.test(status))
      assert.ok(errors.some(([status]) => status === '503'), `${name} documents 503`)
      for (const [status, response] of errors) {
        const ref = response.content?.['application/json']?.schema.$ref
        if (operation.path.startsWith('/health') && status === '503') continue
        assert.equal(ref, status === '422' ? '#/components/schemas/HTTPValidationError' : '#/components/schemas/HTTPError', `${name} ${status}`)
      }
      if (raw.security?.length) {
        assert.ok(raw.responses['401'], `${name} is protected and documents 401`)
      }
    }
    const login = document.paths['/api/v1/users/login']?.post as { security: unknown[], responses: Record<string, unknown> }
    assert.deepEqual(login.security, [])
    for (const status of ['200', '401', '413', '415', '422', '429']) assert.ok(login.responses[status], `login documents ${status}`)
    const createUser = document.paths['/api/v1/admin/users']?.post as { responses: Record<string, unknown> }
    for (const status of ['201', '400', '401', '403', '409', '422']) assert.ok(createUser.responses[status], `create-user documents ${status}`)
  })

  test('the proxied prefixes are described from the route table: one path each, a defined rest-of-path parameter, no Fastify wildcard', () => {
    const paths = Object.keys(document.paths)
    for (const path of ['/api/v1/ingest/{path}', '/api/v1/query/{path}', '/api/v1/query/ask', '/api/v1/documents/stats', '/api/v1/auth/{path}']) {
      assert.ok(paths.includes(path), `${path} is documented`)
    }
    assert.ok(!paths.some((path) => path.includes('*')), paths.join(', '))
    const ingest = document.paths['/api/v1/ingest/{path}'] as Record<string, unknown> & { parameters: { name: string, in: string }[] }
    assert.deepEqual(ingest.parameters.map(({ name, in: where }) => [name, where]), [['path', 'path']])
    assert.deepEqual(Object.keys(ingest).filter((key) => key !== 'parameters').sort(), ['delete', 'get', 'head', 'options', 'patch', 'post', 'put'])
    assert.deepEqual(Object.keys(document.paths['/api/v1/query/ask'] ?? {}).sort(), ['options', 'post'])
    const auth = (document.paths['/api/v1/auth/{path}'] as Record<string, { security: unknown[] }>).get
    assert.deepEqual(auth?.security, [], 'the auth service prefix is public at the gateway')
  })

  test('a route added by GATEWAY_ROUTES_FILE is documented too', async () => {
    const file = join(tmpdir(), `routes-${process.pid}.json`)
    writeFileSync(file, JSON.stringify([{ name: 'billing', path: '/api/v1/billing', upstream: 'http://127.0.0.1:9', upstreamPath: '/v2', methods: ['GET'] }]))
    const other = await startGateway({ env: { GATEWAY_ROUTES_FILE: file } })
    try {
      const served = await (await fetch(`${other.url}/openapi.json`)).json() as OpenApiDocument
      assert.deepEqual(Object.keys(served.paths['/api/v1/billing/{path}'] ?? {}).sort(), ['get', 'parameters'])
      assert.ok(!served.paths['/api/v1/ingest/{path}'], 'the file replaces the default table')
      assert.deepEqual((await lintServed(other)).filter((problem) => problem.severity === 'error'), [])
    } finally {
      await other.close()
      rmSync(file, { force: true })
    }
  })

  test('descriptions keep their asterisks: every `*` is inside a code span, not Markdown emphasis', () => {
    const texts: string[] = [document.info.description ?? '']
    for (const item of Object.values(document.paths)) {
      for (const operation of Object.values(item)) {
        const { summary, description } = operation as { summary?: string, description?: string }
        texts.push(summary ?? '', description ?? '')
      }
    }
    assert.match(document.info.description ?? '', /`\/api\/v1\/ingest\/\*`/)
    for (const text of texts) {
      const outsideCode = text.replace(/`[^`]*`/g, '')
      assert.ok(!outsideCode.includes('*'), `a bare * in: ${text}`)
    }
  })

  test('/docs is the gateway\'s page: its name, title and logo, not Fastify\'s', async () => {
    const html = await (await fetch(`${gateway.url}/docs`)).text()
    assert.match(html, /<title>Atenex API Gateway · API<\/title>/)
    const initializer = await (await fetch(`${gateway.url}/docs/static/swagger-initializer.js`)).text()
    assert.ok(initializer.includes(Buffer.from(LOGO_SVG).toString('base64')), 'the logo is ours')
    const favicon = await fetch(`${gateway.url}/docs/static/theme/favicon.svg`)
    assert.equal(favicon.status, 200)
    assert.match(await favicon.text(), /<svg/)
    assert.ok(!html.includes('favicon-32x32.png'), 'no library favicon')
  })

  test('/redoc serves Redoc\'s standalone bundle from its npm package, with no CDN', async () => {
    const html = await (await fetch(`${gateway.url}/redoc`)).text()
    assert.match(html, /<redoc spec-url="openapi.json"/)
    assert.ok(!/(src|href)="(https?:)?\/\//.test(html), 'nothing loaded from another host')
    const bundle = await fetch(`${gateway.url}/redoc/redoc.standalone.js`)
    assert.equal(bundle.status, 200)
    assert.match(bundle.headers.get('content-type') ?? '', /javascript/)
    const packaged = readFileSync(createRequire(import.meta.url).resolve('redoc/bundles/redoc.standalone.js'))
    assert.equal(Buffer.from(await bundle.arrayBuffer()).equals(packaged), true)
  })
})
