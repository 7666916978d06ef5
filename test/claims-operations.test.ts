import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism } from 'node:os'
import { after, before, describe, test } from 'node:test'
import { startBuiltGateway } from './helpers/built-gateway.js'
import { cliMissing } from './helpers/cli.js'
import { postgresSkip } from './helpers/databases.js'
import { startGateway } from './helpers/gateway.js'
import { postJson, rawRequest } from './helpers/http.js'
import { closedPortUrl, startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

// README, "Operating it": OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set (server spans, undici client
// spans, pg spans), the image's HEALTHCHECK, and GATEWAY_WORKERS=auto (one worker per CPU). The built binary runs
// on PostgreSQL when one answers (pg spans, workers), else on the embedded database (startBuiltGateway).

const noPostgres = await postgresSkip()

interface Export { readonly path: string, readonly contentType: string, readonly body: OtlpBody }
interface OtlpSpan { traceId: string, spanId: string, parentSpanId?: string, name: string, kind: number, attributes: { key: string, value: { stringValue?: string, intValue?: number | string } }[] }
interface OtlpBody { resourceSpans: { resource: { attributes: { key: string, value: { stringValue?: string } }[] }, scopeSpans: { spans: OtlpSpan[] }[] }[] }

/** A local OTLP/HTTP receiver: records every POST (JSON, as @opentelemetry/exporter-trace-otlp-http sends). */
async function startReceiver (): Promise<{ url: string, exports: Export[], close: () => Promise<void> }> {
  const exports: Export[] = []
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      exports.push({ path: req.url ?? '', contentType: req.headers['content-type'] ?? '', body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as OtlpBody })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, exports, close: async () => { server.closeAllConnections(); await new Promise<void>((resolve) => server.close(() => resolve())) } }
}

const spansOf = (exports: Export[]): OtlpSpan[] => exports.flatMap((e) => e.body.resourceSpans ?? []).flatMap((r) => r.scopeSpans).flatMap((s) => s.spans)
const serviceNames = (exports: Export[]): string[] =>
  exports.flatMap((e) => e.body.resourceSpans ?? []).flatMap((r) => r.resource.attributes).filter((a) => a.key === 'service.name').map((a) => a.value.stringValue ?? '')

describe('OTLP export to a local receiver (the built binary)', { skip: cliMissing }, () => {
  let upstream: StandInUpstream
  before(async () => { upstream = await startUpstream() })
  after(async () => { await upstream.close() })

  /** A login and a traced proxied request, then SIGTERM (which flushes the exporter); returns the trace id sent. */
  const traffic = async (env: Record<string, string>): Promise<string> => {
    const gateway = await startBuiltGateway({ GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_AUTH_SERVICE_URL: upstream.url, ...env })
    try {
      const traceId = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
      // The auth service's prefix needs no token: no demo password to read, and an undici call all the same.
      const proxied = await rawRequest(gateway.url, '/api/v1/auth/traced', { headers: { traceparent: `00-${traceId}-1122334455667788-01` } })
      assert.equal(proxied.status, 200)
      assert.equal(String(upstream.last().headers.traceparent).split('-')[1], traceId, 'the upstream joined the trace')
      await postJson(`${gateway.url}/api/v1/users/login`, { email: 'nobody@example.com', password: 'not-the-password' })
      gateway.cli.child.kill('SIGTERM')
      await once(gateway.cli.child, 'exit')
      return traceId
    } finally { await gateway.close() }
  }

  test('OTEL_EXPORTER_OTLP_ENDPOINT: spans reach <endpoint>/v1/traces under OTEL_SERVICE_NAME: the server span continues the caller\'s trace, the undici span is its child', async () => {
    const receiver = await startReceiver()
    try {
      const traceId = await traffic({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'claims-gateway' })
      assert.ok(receiver.exports.length > 0, 'something was exported')
      assert.deepEqual([...new Set(receiver.exports.map((e) => `${e.path} ${e.contentType}`))], ['/v1/traces application/json'])
      assert.deepEqual([...new Set(serviceNames(receiver.exports))], ['claims-gateway'])
      const spans = spansOf(receiver.exports).filter((span) => span.traceId === traceId)
      const server = spans.find((span) => span.kind === 2)
      assert.ok(server, `a server span in the caller's trace; got ${spans.map((s) => `${s.kind}:${s.name}`).join(', ')}`)
      assert.equal(server.parentSpanId, '1122334455667788', 'the caller\'s span is its parent')
      const client = spans.find((span) => span.kind === 3)
      assert.ok(client, 'an undici client span')
      assert.equal(client.parentSpanId, server.spanId)
      if (!noPostgres) {
        const pg = spansOf(receiver.exports).filter((span) => span.attributes.some((a) => a.key === 'db.system' || a.key === 'db.system.name'))
        assert.ok(pg.length > 0, `pg spans for the login's queries; got ${[...new Set(spansOf(receiver.exports).map((s) => s.name))].join(', ')}`)
      }
    } finally { await receiver.close() }
  })

  test('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT overrides the derived URL; OTEL_SDK_DISABLED=true exports nothing', async () => {
    const derived = await startReceiver()
    const full = await startReceiver()
    try {
      await traffic({ OTEL_EXPORTER_OTLP_ENDPOINT: derived.url, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${full.url}/collector/traces` })
      assert.ok(full.exports.length > 0, 'exported to the full URL')
      assert.deepEqual([...new Set(full.exports.map((e) => e.path))], ['/collector/traces'])
      assert.equal(derived.exports.length, 0, 'nothing to the derived one')
      await traffic({ OTEL_EXPORTER_OTLP_ENDPOINT: derived.url, OTEL_SDK_DISABLED: 'true' })
      assert.equal(derived.exports.length, 0, 'nothing exported with the SDK disabled')
    } finally {
      await derived.close()
      await full.close()
    }
  })
})

describe('the Docker image\'s HEALTHCHECK command', () => {
  /** The CMD of the Dockerfile's HEALTHCHECK, as the exec-form JSON array it is. */
  const command = (): string[] => {
    const text = readFileSync('Dockerfile', 'utf8').replace(/\\\n/g, ' ')
    const line = text.split('\n').find((l) => /^HEALTHCHECK\b/.test(l.trim()))
    assert.ok(line, 'a HEALTHCHECK')
    const exec = /\bCMD\s+(\[.*\])\s*$/.exec(line)
    assert.ok(exec, `an exec-form CMD in ${line}`)
    return JSON.parse(exec[1] as string) as string[]
  }

  test('run as Docker runs it, with the gateway\'s PORT: 0 against a running gateway, 1 against a closed port, within its 5 s', async () => {
    const [program, ...args] = command()
    assert.equal(program, 'node')
    const gateway = await startGateway()
    try {
      // Asynchronously: the gateway answers from this very process.
      const run = async (port: string): Promise<{ status: number | null, ms: number }> => {
        const started = performance.now()
        const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, PORT: port }, stdio: 'ignore', timeout: 5000 })
        const [status] = await once(child, 'exit') as [number | null]
        return { status, ms: performance.now() - started }
      }
      const healthy = await run(new URL(gateway.url).port)
      assert.equal(healthy.status, 0)
      const down = await run(new URL(await closedPortUrl()).port)
      assert.equal(down.status, 1)
      assert.ok(down.ms < 5000)
    } finally { await gateway.close() }
  })
})

const oneCpu = availableParallelism() < 2 ? 'one CPU: auto means a single process, no cluster' : false

describe('GATEWAY_WORKERS=auto (the built binary, PostgreSQL)', { skip: cliMissing || noPostgres || oneCpu }, () => {
  test(`forks one worker per CPU (${availableParallelism()} here), all serving, and SIGTERM stops them with exit 0`, async () => {
    const gateway = await startBuiltGateway({ GATEWAY_WORKERS: 'auto' })
    try {
      await gateway.cli.waitFor(new RegExp(`primary \\d+ started ${availableParallelism()} workers`), 5000)
      const pids = new Set<number>()
      await eventually(async () => {
        const { status, body } = await rawRequest(gateway.url, '/health/live').catch(() => ({ status: 0, body: Buffer.alloc(0) }))
        if (status === 200) pids.add((JSON.parse(body.toString()) as { pid: number }).pid)
        return pids.size === availableParallelism()
      }, 30_000, `${availableParallelism()} workers answering`)
      assert.ok(!pids.has(gateway.cli.child.pid as number), 'the primary does not serve')
      gateway.cli.child.kill('SIGTERM')
      const [code] = await once(gateway.cli.child, 'exit') as [number | null]
      assert.equal(code, 0)
    } finally { await gateway.close() }
  })
})
