import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { jsonOf as json, rawRequest as raw } from './helpers/http.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { startProxyWorld, type ProxyWorld } from './helpers/proxy-world.js'
import { closedPortUrl, echo, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

// What the client sees of the upstream's answer, on both databases: streamed events, the upstream's own errors
// passed through, and the gateway's 502/503/504 for what undici really raises on a failed call.
for (const { backend, skip } of await backends()) {
  describe(`upstream answers and failures [${backend}]`, { skip }, () => {
    let world: ProxyWorld
    let ingest: StandInUpstream
    let query: StandInUpstream
    let gateway: TestGateway
    let auth: { authorization: string }

    before(async () => {
      world = await startProxyWorld(backend, { GATEWAY_HTTP_CLIENT_TIMEOUT: '1' })
      ;({ ingest, query, gateway, auth } = world)
    })
    after(async () => { await world.close() })

    test('server-sent events arrive as they are sent, one at a time, not in one lump', async () => {
      let delivered = 0
      query.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' })
        void (async () => {
          try {
            for (let i = 0; i < 4; i++) {
              res.write(`data: token-${i}\n\n`)
              // The next event is written only once the client has this one: a gateway that held the stream back stalls it.
              await eventually(() => delivered > i, 10_000, `the client received event ${i} before the upstream sent the next`)
            }
          } catch { /* the client sees a short stream, asserted below */ } finally { res.end() }
        })()
      }
      try {
        const response = await fetch(`${gateway.url}/api/v1/query/ask`, { method: 'POST', headers: auth, body: '{}' })
        assert.equal(response.headers.get('content-type'), 'text/event-stream')
        const decoder = new TextDecoder()
        let text = ''
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          text += decoder.decode(chunk)
          delivered = text.split('\n\n').length - 1
        }
        assert.equal(text, 'data: token-0\n\ndata: token-1\n\ndata: token-2\n\ndata: token-3\n\n')
      } finally { query.handler = echo }
    })

    test('upstream errors: 4xx/5xx bodies pass through untouched', async () => {
      ingest.handler = (_req, res) => {
        res.writeHead(418, { 'content-type': 'text/plain', 'x-teapot': '1' })
        res.end('short and stout')
      }
      try {
        const response = await raw(gateway.url, '/api/v1/ingest/x', { headers: auth })
        assert.equal(response.status, 418)
        assert.equal(response.body.toString(), 'short and stout')
        assert.equal(response.headers['x-teapot'], '1')
        ingest.handler = (_req, res) => { res.writeHead(500, { 'content-type': 'application/json' }); res.end('{"detail":"ingest broke"}') }
        const failed = await raw(gateway.url, '/api/v1/ingest/x', { headers: auth })
        assert.equal(failed.status, 500)
        assert.deepEqual(json(failed), { detail: 'ingest broke' })
      } finally { ingest.handler = echo }
    })

    test('the client closing an SSE stream aborts the upstream request', async () => {
      let upstreamClosed = false
      query.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' })
        const timer = setInterval(() => res.write('data: tick\n\n'), 20)
        res.on('close', () => { clearInterval(timer); upstreamClosed = true })
      }
      try {
        const controller = new AbortController()
        const response = await fetch(`${gateway.url}/api/v1/query/stream`, { headers: auth, signal: controller.signal })
        const reader = (response.body as ReadableStream<Uint8Array>).getReader()
        await reader.read()
        controller.abort()
        await eventually(() => upstreamClosed, 10_000, 'the upstream request aborted after the client left')
      } finally { query.handler = echo }
    })

    test('a stalled upstream answers 504 (undici\'s headers timeout)', async () => {
      ingest.handler = () => { /* never answers; the world's close ends the socket */ }
      try {
        const slow = await raw(gateway.url, '/api/v1/ingest/slow', { headers: auth })
        assert.equal(slow.status, 504)
        assert.deepEqual(json(slow), { detail: 'Upstream service timed out.' })
      } finally { ingest.handler = echo }
    })

    test('an upstream that closes the connection mid-answer, or resets it, answers 502', async () => {
      ingest.handler = (req) => {
        req.socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/pl')
        req.socket.destroy()
      }
      try {
        const cut = await raw(gateway.url, '/api/v1/ingest/cut', { headers: auth })
        assert.equal(cut.status, 502)
        assert.deepEqual(json(cut), { detail: 'Error communicating with upstream service.' })
        ingest.handler = (req) => { req.socket.resetAndDestroy() }
        const reset = await raw(gateway.url, '/api/v1/ingest/reset', { headers: auth })
        assert.equal(reset.status, 502)
        assert.deepEqual(json(reset), { detail: 'Error communicating with upstream service.' })
      } finally { ingest.handler = echo }
    })
  })

  describe(`upstream unreachable [${backend}]`, { skip }, () => {
    test('a port with nothing listening answers 503 and the gateway keeps serving', async () => {
      const gateway = await startGateway({ backend, env: { GATEWAY_INGEST_SERVICE_URL: await closedPortUrl() } })
      try {
        const company = await gateway.company()
        const user = await gateway.user({ companyId: company.id })
        const response = await raw(gateway.url, '/api/v1/ingest/status', { headers: { authorization: `Bearer ${await gateway.tokenFor(user)}` } })
        assert.equal(response.status, 503)
        assert.deepEqual(json(response), { detail: 'Could not connect to upstream service.' })
        const root = await raw(gateway.url, '/')
        assert.deepEqual(json(root), { message: 'Atenex API Gateway is running!' })
      } finally { await gateway.close() }
    })
  })
}
