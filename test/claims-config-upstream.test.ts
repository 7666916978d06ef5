import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { rawRequest } from './helpers/http.js'
import { closedPortUrl, echo, startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

// README, "Configuration": the effect of GATEWAY_QUERY_ASK_TIMEOUT, GATEWAY_QUERY_UPSTREAM_PREFIX, the two
// keep-alive timeouts (clients', upstreams'), GATEWAY_MAX_CONNECTIONS and GATEWAY_METRICS_PORT, each set away
// from its default.

describe('GATEWAY_QUERY_ASK_TIMEOUT and GATEWAY_QUERY_UPSTREAM_PREFIX', () => {
  let query: StandInUpstream
  let gateway: TestGateway
  let auth: Record<string, string>

  before(async () => {
    query = await startUpstream()
    gateway = await startGateway({
      env: { GATEWAY_QUERY_SERVICE_URL: query.url, GATEWAY_QUERY_UPSTREAM_PREFIX: '/v2/rag', GATEWAY_HTTP_CLIENT_TIMEOUT: '1', GATEWAY_QUERY_ASK_TIMEOUT: '3' },
    })
    auth = { authorization: `Bearer ${await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id }))}` }
  })
  after(async () => {
    await gateway.close()
    await query.close()
  })

  test('/api/v1/query/x reaches the query service as /v2/rag/x, the ask route as /v2/rag/ask', async () => {
    await rawRequest(gateway.url, '/api/v1/query/chats/7/messages?limit=5', { headers: auth })
    assert.equal(query.last().url, '/v2/rag/chats/7/messages?limit=5')
    await rawRequest(gateway.url, '/api/v1/query/ask', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.from('{}') })
    assert.equal(query.last().url, '/v2/rag/ask')
  })

  test('an answer after 1.5 s: 504 on other query routes (1 s), answered on POST /ask (3 s); after 4 s /ask is 504 too', async () => {
    query.handler = (req, res, received) => { setTimeout(() => echo(req, res, received), req.url?.includes('late') === true ? 4000 : 1500) }
    try {
      const [chats, ask] = await Promise.all([
        rawRequest(gateway.url, '/api/v1/query/chats', { headers: auth }),
        rawRequest(gateway.url, '/api/v1/query/ask', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.from('{}') }),
      ])
      assert.equal(chats.status, 504)
      assert.equal(ask.status, 200)
      const started = performance.now()
      const late = await rawRequest(gateway.url, '/api/v1/query/ask?late=1', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.from('{}') })
      assert.equal(late.status, 504)
      const ms = performance.now() - started
      // Not the 1 s of the other routes; and a 504, so not the upstream's answer at 4 s either.
      assert.ok(ms > 2500, `the ask timed out after ${ms.toFixed(0)} ms`)
    } finally { query.handler = echo }
  })
})

describe('keep-alive timeouts, GATEWAY_MAX_CONNECTIONS and GATEWAY_METRICS_PORT', () => {
  let upstream: StandInUpstream
  let gateway: TestGateway
  let auth: Record<string, string>
  /** When each upstream connection opened and closed. */
  const upstreamSockets: { opened: number, closed?: number }[] = []
  let metricsPort: string

  before(async () => {
    upstream = await startUpstream()
    // The metrics port must be named beforehand: one that was free a moment ago.
    metricsPort = new URL(await closedPortUrl()).port
    gateway = await startGateway({
      env: {
        GATEWAY_INGEST_SERVICE_URL: upstream.url,
        GATEWAY_KEEP_ALIVE_TIMEOUT: '1',
        GATEWAY_HTTP_CLIENT_KEEPALIVE_TIMEOUT: '1',
        GATEWAY_MAX_CONNECTIONS: '3',
        GATEWAY_METRICS_PORT: metricsPort,
        GATEWAY_HOST: '127.0.0.1',
      },
    })
    auth = { authorization: `Bearer ${await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id }))}` }
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
  })

  /** A client connection with requests written by hand, and when it closed. */
  const openClient = async (): Promise<{ socket: Socket, data: () => string, closedAt: () => number | undefined }> => {
    const { hostname, port } = new URL(gateway.url)
    const socket = connect(Number(port), hostname)
    let data = ''
    let closedAt: number | undefined
    socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
    socket.on('error', () => undefined)
    socket.once('close', () => { closedAt = performance.now() })
    await once(socket, 'connect')
    return { socket, data: () => data, closedAt: () => closedAt }
  }

  // First: it counts the main port's requests from zero.
  test('GATEWAY_METRICS_PORT: /metrics moves to its own port: 404 on the main one, the Prometheus text (with the main port\'s traffic) on the other', async () => {
    assert.equal((await rawRequest(gateway.url, '/health/live')).status, 200)
    assert.equal((await rawRequest(gateway.url, '/metrics')).status, 404)
    const scraped = await rawRequest(`http://127.0.0.1:${metricsPort}`, '/metrics')
    assert.equal(scraped.status, 200)
    assert.match(scraped.body.toString(), /^gateway_http_request_duration_seconds_count\{route="\/health\/live",method="GET",status="200"\} 1$/m)
  })

  test('GATEWAY_KEEP_ALIVE_TIMEOUT=1: an idle client connection is closed by the gateway after about a second, not before', async () => {
    const client = await openClient()
    try {
      client.socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n')
      await eventually(() => /\r\n\r\n\{.*\}$/.test(client.data()), 5000, 'the answer')
      const answered = performance.now()
      await eventually(() => client.closedAt() !== undefined, 10_000, 'the gateway closing the idle connection')
      const idleMs = (client.closedAt() as number) - answered
      assert.ok(idleMs > 800 && idleMs < 8000, `closed after ${idleMs.toFixed(0)} ms idle (the default is 75 s)`)
    } finally { client.socket.destroy() }
  })

  test('GATEWAY_HTTP_CLIENT_KEEPALIVE_TIMEOUT=1: back-to-back requests share one upstream connection, closed after a second idle', async () => {
    const ports: number[] = []
    upstream.onHeaders = (req, res) => {
      // The upstream offers a minute: the 1 s is the gateway's own (the stand-in itself closes idle sockets after ~5 s).
      res.setHeader('keep-alive', 'timeout=60')
      const socket = req.socket
      if (!ports.includes(socket.remotePort as number)) {
        const entry: { opened: number, closed?: number } = { opened: performance.now() }
        upstreamSockets.push(entry)
        socket.once('close', () => { entry.closed = performance.now() })
      }
      ports.push(socket.remotePort as number)
      return false
    }
    try {
      for (let i = 0; i < 3; i++) assert.equal((await rawRequest(gateway.url, `/api/v1/ingest/k${i}`, { headers: auth })).status, 200)
      const lastAnswer = performance.now()
      assert.equal(new Set(ports).size, 1, `one upstream connection for three requests, got ports ${ports.join(',')}`)
      await eventually(() => upstreamSockets.every((entry) => entry.closed !== undefined), 10_000, 'the gateway closing its idle upstream connection')
      const idleMs = (upstreamSockets.at(-1)?.closed as number) - lastAnswer
      assert.ok(idleMs > 500 && idleMs < 4000, `closed after ${idleMs.toFixed(0)} ms idle (the default is 30 s)`)
    } finally { upstream.onHeaders = undefined }
  })

  test('GATEWAY_MAX_CONNECTIONS=3: a 4th connection is dropped while 3 are open, and accepted once one closes', async () => {
    const held = [await openClient(), await openClient(), await openClient()]
    try {
      // Each held connection is busy with a request it has not finished (so no keep-alive timeout closes it).
      for (const client of held) client.socket.write('GET /health/live HTTP/1.1\r\nHost: x\r\n')
      const connections = async (): Promise<number> => new Promise((resolve) => gateway.app.server.getConnections((_error, count) => resolve(count)))
      await eventually(async () => await connections() === 3, 5000, 'the gateway holding the three connections')
      await assert.rejects(rawRequest(gateway.url, '/health/live'), /ECONNRESET|socket hang up|EPIPE/, 'the 4th connection is dropped')
      held[0]?.socket.destroy()
      await eventually(async () => {
        try { return (await rawRequest(gateway.url, '/health/live')).status === 200 } catch { return false }
      }, 5000, 'a connection accepted again')
    } finally { for (const client of held) client.socket.destroy() }
  })
})
