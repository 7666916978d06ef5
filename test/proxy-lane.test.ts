import assert from 'node:assert/strict'
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import type { Identity } from '../src/auth/identity.js'
import { loadConfig } from '../src/config.js'
import { GatewayMetrics } from '../src/observability/metrics.js'
import { w3cOnlyTracing } from '../src/observability/tracing.js'
import { proxyLane, type ProxyLane } from '../src/proxy/proxy-lane.js'
import { routeForwarder } from '../src/proxy/route-forwarder.js'
import { loadRouteTable } from '../src/proxy/route-table.js'
import { UpstreamPools } from '../src/proxy/upstream-pools.js'
import { clientAddress } from '../src/server/client-address.js'
import { corsResponseHeaders } from '../src/server/cors.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

const CACHED = 'Bearer cached-token'
const identity: Identity = { userId: 'u-1', companyId: 'c-1', email: 'u@example.com', roles: [], expiresAt: 0 }

describe('proxy lane: which requests it takes (the rest are Fastify\'s)', () => {
  let pools: UpstreamPools
  let lane: ProxyLane
  let closing = false

  before(() => {
    const config = loadConfig({
      GATEWAY_DATA_DIR: 'memory://',
      GATEWAY_JWT_SECRET: 'x'.repeat(40),
      GATEWAY_INGEST_SERVICE_URL: 'http://127.0.0.1:9',
      GATEWAY_QUERY_SERVICE_URL: 'http://127.0.0.1:9',
      GATEWAY_AUTH_SERVICE_URL: 'http://127.0.0.1:9',
      GATEWAY_MAX_BODY_BYTES: '1000',
    })
    pools = new UpstreamPools(config.httpClient)
    const forwarders = loadRouteTable(config).map((route) => routeForwarder(route, pools))
    lane = proxyLane({
      forwarders,
      limitsFor: () => ({ count: (_identity, _ip, callback) => callback(undefined, undefined), concurrency: undefined }),
      cachedIdentity: (authorization) => authorization === CACHED ? identity : undefined,
      cors: corsResponseHeaders(config.corsOrigins),
      client: clientAddress(false),
      metrics: new GatewayMetrics({ hits: 0, misses: 0 }),
      tracing: w3cOnlyTracing,
      log: pino({ level: 'silent' }),
      maxUrlBytes: 100,
      isClosing: () => closing,
    })
  })
  after(async () => { await pools.close() })

  const request = (method: string, url: string, headers: IncomingHttpHeaders = { authorization: CACHED }): IncomingMessage =>
    ({ method, url, headers }) as IncomingMessage
  const template = (method: string, url: string, headers?: IncomingHttpHeaders): string | undefined => lane.admit(request(method, url, headers))?.template

  test('a cached identity on a StrictAuth route is taken, with Fastify\'s route template', () => {
    assert.equal(template('GET', '/api/v1/ingest/status?x=1'), '/api/v1/ingest/*')
    assert.equal(template('GET', '/api/v1/ingest'), '/api/v1/ingest')
    assert.equal(template('POST', '/api/v1/query/ask'), '/api/v1/query/ask')
    // The exact ask route is POST only: a GET there is the query prefix's, as in Fastify's per-method router.
    assert.equal(template('GET', '/api/v1/query/ask'), '/api/v1/query/*')
    assert.equal(template('GET', '/api/v1/documents/stats'), '/api/v1/documents/stats')
    assert.equal(lane.admit(request('GET', '/api/v1/ingest/a?b'))?.upstreamPath, '/api/v1/ingest/a?b')
  })

  test('everything else is left to Fastify', () => {
    assert.equal(template('GET', '/api/v1/ingest/status', {}), undefined, 'no token')
    assert.equal(template('GET', '/api/v1/ingest/status', { authorization: 'Bearer not-yet-verified' }), undefined, 'token not cached')
    assert.equal(template('OPTIONS', '/api/v1/ingest/status'), undefined, 'preflight')
    assert.equal(template('GET', '/api/v1/auth/anything'), undefined, 'the auth service route (no identity)')
    assert.equal(template('GET', '/api/v1/ingestx'), undefined, 'no route')
    assert.equal(template('GET', '/api/v1/documents/stats/more'), undefined, 'exact route, longer path')
    assert.equal(template('POST', '/api/v1/documents/stats'), undefined, 'method the route does not take')
    assert.equal(template('GET', '/api/v1/ingest/%2e%2e/x'), undefined, 'percent-escapes in the path')
    assert.equal(template('GET', `/api/v1/ingest/${'a'.repeat(100)}`), undefined, 'URL over the limit')
    assert.equal(template('POST', '/api/v1/query/x', { authorization: CACHED, 'content-length': '1001' }), undefined, 'declared body over the limit')
    closing = true
    assert.equal(template('GET', '/api/v1/ingest/status'), undefined, 'draining')
    closing = false
  })
})

/** Response headers that differ by nature between two gateways or two requests. */
const VARYING = new Set(['x-request-id', 'x-process-time', 'date', 'content-length', 'traceparent', 'host', 'x-forwarded-host'])
const stable = (headers: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(headers).filter(([name]) => !VARYING.has(name)).sort(([x], [y]) => x.localeCompare(y)))

describe('proxy lane and Fastify\'s routes answer alike', () => {
  let upstream: StandInUpstream
  const gateways: TestGateway[] = []
  const tokens: string[] = []

  before(async () => {
    upstream = await startUpstream((_req, res, received) => {
      res.setHeader('vary', 'Accept-Encoding')
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify({ headers: received.headers }))
    })
    for (const lane of [true, false]) {
      const gateway = await startGateway({
        proxyLane: lane,
        env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_QUERY_SERVICE_URL: upstream.url, GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '4' },
      })
      gateways.push(gateway)
      const company = await gateway.company()
      const user = await gateway.user({ companyId: company.id, email: 'same@example.com' })
      tokens.push(await gateway.tokenFor(user))
    }
  })
  after(async () => {
    await Promise.all(gateways.map(async (gateway) => gateway.close()))
    await upstream.close()
  })

  /** The same request to both gateways (their identities differ only in ids, which are compared apart). */
  async function both (path: string, headers: Record<string, string>): Promise<{ status: number, headers: Record<string, unknown>, upstream: Record<string, unknown> | undefined, body: string }[]> {
    return Promise.all(gateways.map(async (gateway, index) => {
      const response = await fetch(`${gateway.url}${path}`, { headers: { ...headers, authorization: `Bearer ${tokens[index] ?? ''}` } })
      const body = await response.text()
      const received = response.status === 200 ? (JSON.parse(body) as { headers: Record<string, unknown> }).headers : undefined
      return { status: response.status, headers: Object.fromEntries(response.headers), upstream: received, body }
    }))
  }

  test('response and upstream headers match, CORS and Vary included, and so does the 429', async () => {
    const origin = { origin: 'http://localhost:3000', 'x-user-id': 'spoofed', 'x-forwarded-for': '203.0.113.9' }
    // The first request verifies the token (Fastify on both); the next ones are the lane's on the first gateway.
    for (let round = 0; round < 4; round++) {
      const [lane, fastify] = await both(`/api/v1/ingest/r${round}?q=1`, origin)
      assert.ok(lane && fastify)
      assert.equal(lane.status, 200)
      assert.equal(lane.status, fastify.status)
      assert.deepEqual(stable(lane.headers), stable(fastify.headers))
      assert.equal(lane.headers['access-control-allow-origin'], 'http://localhost:3000')
      assert.equal(lane.headers.vary, 'Accept-Encoding, Origin')
      const ids = ['x-user-id', 'x-company-id']
      const withoutIds = (headers: Record<string, unknown> | undefined): Record<string, unknown> => stable(Object.fromEntries(Object.entries(headers ?? {}).filter(([name]) => !ids.includes(name))))
      assert.deepEqual(withoutIds(lane.upstream), withoutIds(fastify.upstream))
      assert.notEqual(lane.upstream?.['x-user-id'], 'spoofed')
      assert.match(String(lane.upstream?.['x-forwarded-for']), /^203\.0\.113\.9, /)
    }
    const [lane, fastify] = await both('/api/v1/ingest/over', { origin: 'http://evil.example' })
    assert.ok(lane && fastify)
    assert.equal(lane.status, 429)
    assert.deepEqual([lane.status, stable(lane.headers), lane.body], [fastify.status, stable(fastify.headers), fastify.body])
    assert.equal(lane.headers['access-control-allow-origin'], undefined)

    // The comparison means something only if the lane did answer: every request after the first on its gateway.
    const laneCount = async (gateway: TestGateway | undefined): Promise<string | undefined> =>
      (await (await fetch(`${gateway?.url ?? ''}/metrics`)).text()).split('\n').find((line) => line.startsWith('gateway_proxy_lane_requests_total '))
    assert.equal(await laneCount(gateways[0]), 'gateway_proxy_lane_requests_total 4')
    assert.equal(await laneCount(gateways[1]), undefined)
  })
})
