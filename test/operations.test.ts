import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { SpanKind } from '@opentelemetry/api'
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node'
import { openTelemetryTracing } from '../src/observability/otel.js'
import { cliMissing, runCli, startCli, type RunningCli } from './helpers/cli.js'
import { createPostgresDatabase, postgresSkip } from './helpers/databases.js'
import { startGateway, TEST_JWT_SECRET, type TestGateway } from './helpers/gateway.js'
import { jsonOf, postJson, rawRequest as raw } from './helpers/http.js'
import { closedPortUrl, startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

describe('Prometheus metrics', () => {
  let gateway: TestGateway
  let upstream: StandInUpstream
  before(async () => {
    upstream = await startUpstream()
    gateway = await startGateway({ env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_QUERY_SERVICE_URL: await closedPortUrl(), GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '100000', GATEWAY_RATE_LIMIT_COMPANY_PER_MINUTE: '100000' } })
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
  })

  const scrape = async (): Promise<string> => {
    const response = await fetch(`${gateway.url}/metrics`)
    assert.equal(response.status, 200)
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/)
    return response.text()
  }
  const series = (text: string, name: string): string[] => text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
  /** The sum of `name` over the series carrying every one of `labels`. */
  const value = (text: string, name: string, labels: Record<string, string> = {}): number => series(text, name)
    .filter((line) => Object.entries(labels).every(([key, wanted]) => line.includes(`${key}="${wanted}"`)))
    .reduce((sum, line) => sum + Number(line.split(' ').at(-1)), 0)

  test('requests, upstream latency, upstream errors, auth failures and process metrics count what happened', async () => {
    const token = await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id }))
    const before = await scrape()
    const ingest = { route: '/api/v1/ingest/*', status: '200' }
    await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${token}` } })
    await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${token}` } })
    await fetch(`${gateway.url}/api/v1/query/chats`, { headers: { authorization: `Bearer ${token}` } })
    await fetch(`${gateway.url}/api/v1/ingest/status`)
    const delta = (text: string, name: string, labels: Record<string, string> = {}): number => value(text, name, labels) - value(before, name, labels)
    let text = ''
    // A request is counted once its response is sent, which may be just after the client has it.
    await eventually(async () => { text = await scrape(); return delta(text, 'gateway_http_request_duration_seconds_count', ingest) >= 2 }, 10_000, 'two ingest requests counted')
    assert.equal(delta(text, 'gateway_http_request_duration_seconds_count', ingest), 2)
    assert.equal(delta(text, 'gateway_upstream_response_seconds_count', { upstream: 'ingest' }), 2)
    assert.equal(delta(text, 'gateway_upstream_errors_total', { upstream: 'query', code: 'UPSTREAM_UNAVAILABLE' }), 1)
    assert.equal(delta(text, 'gateway_auth_failures_total', { reason: 'NOT_AUTHENTICATED' }), 1)
    // The token's first request looks its user up; the next two (ingest, query) are served from the cache.
    assert.equal(delta(text, 'gateway_user_cache_hits_total'), 2)
    assert.ok(value(text, 'process_resident_memory_bytes') > 10 * 1024 * 1024, 'a resident set of a Node.js process')
  })

  test('label cardinality stays constant under 1,000 distinct paths', async () => {
    const token = await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id }))
    await fetch(`${gateway.url}/api/v1/ingest/warm`, { headers: { authorization: `Bearer ${token}` } })
    await fetch(`${gateway.url}/nowhere/warm`)
    const before = series(await scrape(), 'gateway_http_request_duration_seconds_count').length
    for (let i = 0; i < 500; i++) {
      await fetch(`${gateway.url}/api/v1/ingest/documents/${i}-${Math.random()}`, { headers: { authorization: `Bearer ${token}` } })
      await fetch(`${gateway.url}/random/${i}/${Math.random()}`)
    }
    const text = await scrape()
    assert.equal(series(text, 'gateway_http_request_duration_seconds_count').length, before)
    assert.ok(!text.includes('/api/v1/ingest/documents/'), 'no raw path in any label')
  })
})

describe('OpenTelemetry tracing', () => {
  test('the gateway\'s server span is the parent of the upstream call, and the upstream sees the same trace', async () => {
    const exporter = new InMemorySpanExporter()
    const tracing = openTelemetryTracing(exporter, { serviceName: 'atenex-gateway-test', batch: false })
    const upstream = await startUpstream()
    const gateway = await startGateway({ env: { GATEWAY_INGEST_SERVICE_URL: upstream.url }, tracing })
    try {
      const user = await gateway.user({ companyId: (await gateway.company()).id })
      const incomingTrace = '4bf92f3577b34da6a3ce929d0e0e4736'
      // node:http, not fetch: the undici instrumentation would add the test client's own traceparent to fetch's request.
      const token = await gateway.tokenFor(user)
      const response = await raw(gateway.url, '/api/v1/ingest/traced', { headers: { authorization: `Bearer ${token}`, traceparent: `00-${incomingTrace}-00f067aa0ba902b7-01` } })
      assert.equal(response.status, 200)
      const forwarded = String(upstream.last().headers.traceparent)
      assert.match(forwarded, new RegExp(`^00-${incomingTrace}-[0-9a-f]{16}-01$`))
      await eventually(() => exporter.getFinishedSpans().some((span) => span.kind === SpanKind.SERVER), 2000, 'server span exported')
      const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === incomingTrace)
      const server = spans.find((span) => span.kind === SpanKind.SERVER)
      const client = spans.find((span) => span.kind === SpanKind.CLIENT && String(span.attributes['url.full'] ?? '').startsWith(upstream.url))
      assert.ok(server, 'a server span in the caller\'s trace')
      assert.ok(client, 'an undici client span for the upstream call')
      assert.equal(client.parentSpanContext?.spanId, server.spanContext().spanId)
      assert.equal(forwarded.split('-')[2], client.spanContext().spanId, 'the upstream\'s parent is the client span')
      assert.equal(server.attributes['http.route'], '/api/v1/ingest/*')
      assert.equal(server.attributes['gateway.upstream'], 'ingest')
      assert.match(String(server.attributes['gateway.company_hash']), /^[0-9a-f]{16}$/)
      assert.notEqual(server.attributes['gateway.company_hash'], user.companyId)
      const logged = gateway.logs.entries.find((entry) => entry.path === '/api/v1/ingest/traced')
      assert.equal(logged?.trace_id, incomingTrace, 'the trace id is in the log line')
    } finally {
      await gateway.close()
      await upstream.close()
      await tracing.shutdown()
    }
  })
})

/** The port a spawned `serve` listens on, from its "Server listening at" log line (it was started with PORT=0). */
async function listeningPort (gateway: RunningCli): Promise<number> {
  return Number((await gateway.waitFor(/listening at http:\/\/127\.0\.0\.1:(\d+)/, 120_000))[1])
}

const refused = async (base: string): Promise<boolean> => raw(base, '/health/live').then(() => false, (error: Error) => /ECONNREFUSED/.test(error.message))

describe('process lifecycle (the built binary)', { skip: cliMissing }, () => {
  test('SIGTERM during an upstream response: readiness turns 503, new connections are refused, the response completes, exit 0', async () => {
    let releaseSlow: (() => void) | undefined
    const upstream = await startUpstream((_req, res) => { releaseSlow = () => res.end('{"slow":true}') })
    const home = mkdtempSync(join(tmpdir(), 'gateway-sigterm-'))
    const gateway = startCli(['serve'], {
      PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_DATA_DIR: join(home, 'db'), GATEWAY_JWT_SECRET: TEST_JWT_SECRET, GATEWAY_INGEST_SERVICE_URL: upstream.url,
    })
    try {
      const password = (await gateway.waitFor(/password:\s+(\S+)/, 120_000))[1]
      const base = `http://127.0.0.1:${await listeningPort(gateway)}`
      const login = await postJson(`${base}/api/v1/users/login`, { email: 'admin@atenex.local', password })
      const { access_token: token } = await login.json() as { access_token: string }
      // One connection carries the slow request and then, once the gateway drains, a readiness probe pipelined behind it.
      const socket = connect(Number(new URL(base).port), '127.0.0.1')
      let answers = ''
      let ended = false
      socket.on('data', (chunk: Buffer) => { answers += chunk.toString() })
      socket.on('close', () => { ended = true })
      socket.on('error', () => undefined)
      socket.write(`GET /api/v1/ingest/slow HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
      await eventually(() => releaseSlow !== undefined, 10_000, 'the slow request reached the upstream')
      gateway.child.kill('SIGTERM')
      await gateway.waitFor(/shutting down: draining/, 10_000)
      await eventually(async () => refused(base), 10_000, 'new connections refused while draining')
      socket.write('GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n')
      releaseSlow?.()
      await eventually(() => ended, 30_000, 'both answers on the draining connection, then its close')
      const [slow = '', ready = ''] = answers.split(/(?=HTTP\/1\.1 \d{3})/)
      assert.match(slow, /^HTTP\/1\.1 200/)
      assert.match(slow, /\{"slow":true\}$/, 'the in-flight response completed')
      assert.match(ready, /^HTTP\/1\.1 503/, 'readiness is 503 while draining')
      assert.equal(await gateway.stop(), 0, gateway.stderr())
      assert.match(gateway.stdout(), /shut down cleanly/)
    } finally {
      await gateway.stop('SIGKILL')
      await upstream.close()
      rmSync(home, { recursive: true, force: true })
    }
  })

  test('--workers is refused on the embedded database', async () => {
    const home = mkdtempSync(join(tmpdir(), 'gateway-workers-'))
    try {
      const run = await runCli(['serve', '--workers', '2'], { GATEWAY_DATA_DIR: join(home, 'db'), PORT: '0' })
      assert.equal(run.status, 2)
      assert.match(run.stdout + run.stderr, /needs PostgreSQL/)
    } finally { rmSync(home, { recursive: true, force: true }) }
  })
})

const noPostgres = await postgresSkip()

describe('--workers 2 on PostgreSQL', { skip: cliMissing || noPostgres }, () => {
  test('requests are served by both workers, none restarted, metrics are summed by the primary, and SIGTERM stops them all cleanly', async () => {
    const database = await createPostgresDatabase()
    const env = { ...database.env, PORT: '0', GATEWAY_METRICS_PORT: '0', GATEWAY_HOST: '127.0.0.1', GATEWAY_JWT_SECRET: TEST_JWT_SECRET }
    const gateway = startCli(['serve', '--workers', '2'], env)
    try {
      // PORT=0 in a cluster: the first worker's random port is every worker's port.
      const base = `http://127.0.0.1:${await listeningPort(gateway)}`
      const metricsPort = Number((await gateway.waitFor(/cluster metrics on port (\d+)/, 60_000))[1])
      const pids = new Set<number>()
      let answered = 0
      const live = async (): Promise<void> => {
        const response = await raw(base, '/health/live', { timeoutMs: 10_000 })
        assert.equal(response.status, 200)
        answered += 1
        pids.add((jsonOf(response) as { pid: number }).pid)
      }
      await eventually(async () => { await live().catch(() => undefined); return pids.size >= 2 && answered >= 6 }, 30_000, 'two workers answering')
      for (let i = 0; i < 20; i++) await live()
      // A worker that crashed and was restarted would answer with a new pid, and the primary would say so.
      assert.equal(pids.size, 2, `worker pids seen: ${[...pids].join(', ')}`)
      assert.ok(!pids.has(gateway.child.pid as number), 'the primary does not serve')
      assert.doesNotMatch(gateway.stderr(), /exited .*starting another/, 'no worker was restarted')
      const line = async (): Promise<string | undefined> => {
        const metrics = await raw(`http://127.0.0.1:${metricsPort}`, '/metrics')
        assert.equal(metrics.status, 200)
        return metrics.body.toString().split('\n').find((l) => l.startsWith('gateway_http_request_duration_seconds_count{') && l.includes('route="/health/live"'))
      }
      // A worker records a request once its response is sent, so the last one may land just after the client has it.
      await eventually(async () => Number((await line())?.split(' ').at(-1)) === answered, 10_000, `both workers' ${answered} requests, summed`)
      assert.equal(await gateway.stop(), 0, gateway.stderr())
    } finally {
      await gateway.stop('SIGKILL')
      await database.drop()
    }
  })
})
