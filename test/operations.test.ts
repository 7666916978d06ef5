import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { SpanKind } from '@opentelemetry/api'
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-node'
import { openTelemetryTracing } from '../src/observability/otel.js'
import { createPostgresDatabase, postgresSkip } from './helpers/databases.js'
import { startGateway, TEST_JWT_SECRET, type TestGateway } from './helpers/gateway.js'
import { closedPortUrl, startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

const BIN = 'dist/src/cli/index.js'

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

  test('requests, upstream latency, upstream errors, auth failures and process metrics after traffic', async () => {
    const token = await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id }))
    await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${token}` } })
    await fetch(`${gateway.url}/api/v1/query/chats`, { headers: { authorization: `Bearer ${token}` } })
    await fetch(`${gateway.url}/api/v1/ingest/status`)
    const text = await scrape()
    assert.ok(series(text, 'gateway_http_request_duration_seconds_count').some((line) => line.includes('route="/api/v1/ingest/*"') && line.includes('status="200"')))
    assert.ok(series(text, 'gateway_upstream_response_seconds_count').some((line) => line.includes('upstream="ingest"')))
    assert.ok(series(text, 'gateway_upstream_errors_total').some((line) => line.includes('upstream="query"') && line.includes('code="UPSTREAM_UNAVAILABLE"')))
    assert.ok(series(text, 'gateway_auth_failures_total').some((line) => line.includes('reason="NOT_AUTHENTICATED"')))
    assert.ok(series(text, 'gateway_user_cache_hits_total').length === 1)
    assert.ok(series(text, 'process_resident_memory_bytes').length === 1)
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
      const response = await new Promise<number>((resolve, reject) => {
        const req = httpRequest(`${gateway.url}/api/v1/ingest/traced`, { headers: { authorization: `Bearer ${token}`, traceparent: `00-${incomingTrace}-00f067aa0ba902b7-01` } }, (res) => {
          res.resume()
          res.on('end', () => resolve(res.statusCode ?? 0))
        })
        req.on('error', reject)
        req.end()
      })
      assert.equal(response, 200)
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

interface Spawned { child: ChildProcess, output: () => string }

function spawnGateway (args: string[], env: NodeJS.ProcessEnv): Spawned {
  let output = ''
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout?.on('data', (chunk) => { output += chunk })
  child.stderr?.on('data', (chunk) => { output += chunk })
  return { child, output: () => output }
}

const exitOf = async (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null ? child.exitCode : new Promise((resolve) => child.once('exit', (code) => resolve(code)))

async function get (url: string): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      let body = ''
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('process lifecycle (the built binary)', { skip: existsSync(BIN) ? false : `${BIN} is missing: run npm run build first (npm test does)` }, () => {
  test('SIGTERM during a 3 s upstream response: it completes, new connections are refused, exit 0', async () => {
    const upstream = await startUpstream((_req, res) => { setTimeout(() => res.end('{"slow":true}'), 3000) })
    const home = mkdtempSync(join(tmpdir(), 'gateway-sigterm-'))
    const port = 20000 + Math.floor(Math.random() * 20000)
    const { child, output } = spawnGateway(['serve'], {
      PORT: String(port), GATEWAY_HOST: '127.0.0.1', GATEWAY_DATA_DIR: join(home, 'db'), GATEWAY_JWT_SECRET: TEST_JWT_SECRET, GATEWAY_INGEST_SERVICE_URL: upstream.url,
    })
    try {
      await eventually(() => /password:\s+\S+/.test(output()) && /listening/i.test(output()), 120_000, 'gateway started')
      const password = /password:\s+(\S+)/.exec(output())?.[1]
      const base = `http://127.0.0.1:${port}`
      const login = await fetch(`${base}/api/v1/users/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@atenex.local', password }) })
      const { access_token: token } = await login.json() as { access_token: string }
      const slow = fetch(`${base}/api/v1/ingest/slow`, { headers: { authorization: `Bearer ${token}` } })
      // The stand-in records a request once its body has arrived, before it starts its 3 s wait.
      await eventually(() => upstream.received.length > 0, 2000, 'the slow request reached the upstream')
      child.kill('SIGTERM')
      await sleep(300)
      await assert.rejects(get(`${base}/health/live`), /ECONNREFUSED/, 'new connections are refused while draining')
      const response = await slow
      assert.equal(response.status, 200)
      assert.deepEqual(await response.json(), { slow: true })
      assert.equal(await exitOf(child), 0)
      assert.match(output(), /shut down cleanly/)
    } finally {
      child.kill('SIGKILL')
      await upstream.close()
      rmSync(home, { recursive: true, force: true })
    }
  })

  test('--workers is refused on the embedded database', async () => {
    const home = mkdtempSync(join(tmpdir(), 'gateway-workers-'))
    try {
      const { child, output } = spawnGateway(['serve', '--workers', '2'], { GATEWAY_DATA_DIR: join(home, 'db'), PORT: '0' })
      assert.equal(await exitOf(child), 2)
      assert.match(output(), /needs PostgreSQL/)
    } finally { rmSync(home, { recursive: true, force: true }) }
  })
})

const noPostgres = await postgresSkip()

describe('--workers 2 on PostgreSQL', { skip: !existsSync(BIN) ? `${BIN} is missing` : noPostgres }, () => {
  test('requests are served by both workers, metrics are summed by the primary, and SIGTERM stops them all cleanly', async () => {
    const database = await createPostgresDatabase()
    const port = 20000 + Math.floor(Math.random() * 20000)
    const env = { ...database.env, PORT: String(port), GATEWAY_METRICS_PORT: String(port + 1), GATEWAY_HOST: '127.0.0.1', GATEWAY_JWT_SECRET: TEST_JWT_SECRET }
    const { child, output } = spawnGateway(['serve', '--workers', '2'], env)
    try {
      const pids = new Set<number>()
      let answered = 0
      await eventually(async () => {
        try {
          const { status, body } = await get(`http://127.0.0.1:${port}/health/live`)
          if (status === 200) {
            answered += 1
            pids.add((JSON.parse(body) as { pid: number }).pid)
          }
        } catch { /* not listening yet */ }
        return pids.size >= 2 && answered >= 6
      }, 30_000, 'two workers answering')
      assert.equal(pids.size, 2)
      assert.ok(!pids.has(child.pid as number), 'the primary does not serve')
      await sleep(100)
      const metrics = await get(`http://127.0.0.1:${port + 1}/metrics`)
      assert.equal(metrics.status, 200)
      const line = metrics.body.split('\n').find((l) => l.startsWith('gateway_http_request_duration_seconds_count{') && l.includes('route="/health/live"'))
      assert.equal(Number(line?.split(' ').at(-1)), answered, 'both workers\' requests, summed')
      child.kill('SIGTERM')
      assert.equal(await exitOf(child), 0, output())
    } finally {
      child.kill('SIGKILL')
      await database.drop()
    }
  })
})
