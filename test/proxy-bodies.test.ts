import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { jsonOf as json, rawRequest as raw } from './helpers/http.js'
import type { TestGateway } from './helpers/gateway.js'
import { startProxyWorld, type ProxyWorld } from './helpers/proxy-world.js'
import { echo, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

// Request and response bodies through the proxy, on both databases: streamed both ways, never held whole,
// cut at the route's limit.
for (const { backend, skip } of await backends()) {
  describe(`request and response bodies [${backend}]`, { skip }, () => {
    let world: ProxyWorld
    let ingest: StandInUpstream
    let query: StandInUpstream
    let gateway: TestGateway
    let auth: { authorization: string }

    before(async () => {
      world = await startProxyWorld(backend)
      ;({ ingest, query, gateway, auth } = world)
    })
    after(async () => { await world.close() })

    test('a 10 MiB upload is streamed intact', async () => {
      const chunk = randomBytes(64 * 1024)
      const chunks = 160
      const expected = createHash('sha256')
      for (let i = 0; i < chunks; i++) expected.update(chunk)
      async function * body (): AsyncGenerator<Buffer> {
        for (let i = 0; i < chunks; i++) yield chunk
      }
      const response = await raw(gateway.url, '/api/v1/ingest/upload', {
        method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: body(),
      })
      assert.equal(response.status, 200)
      assert.equal(ingest.last().bodyBytes, chunks * chunk.length)
      assert.equal(ingest.last().bodySha256, expected.digest('hex'))
    })

    test('a body with a declared length streams as is, and a client that stops halfway aborts the upstream request', async () => {
      const body = randomBytes(5 * 1024 * 1024)
      const response = await raw(gateway.url, '/api/v1/ingest/upload', { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body })
      assert.equal(response.status, 200)
      assert.equal(ingest.last().bodySha256, createHash('sha256').update(body).digest('hex'))

      const before = ingest.received.length
      const url = new URL(gateway.url)
      const socket = connect(Number(url.port), url.hostname)
      await new Promise((resolve) => socket.once('connect', resolve))
      socket.write(`POST /api/v1/ingest/half HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\nContent-Length: ${body.length}\r\n\r\n`)
      const relayedBefore = ingest.progress.bodyBytes
      socket.write(body.subarray(0, 256 * 1024))
      await eventually(() => ingest.progress.bodyBytes > relayedBefore, 10_000, 'the first bytes relayed upstream')
      socket.destroy()
      await eventually(() => ingest.received.length > before, 10_000, 'the upstream recorded the cut request')
      assert.equal(ingest.last().url, '/api/v1/ingest/half')
      assert.equal(ingest.last().aborted, true, 'the upstream saw the request cut short, not a complete body')
      assert.ok(ingest.last().bodyBytes < body.length)
    })

    test('an upload is streamed, not buffered: the upstream has its first bytes before the client sends the rest', async () => {
      const first = randomBytes(64 * 1024)
      const rest = randomBytes(64 * 1024)
      const relayedBefore = ingest.progress.bodyBytes
      async function * body (): AsyncGenerator<Buffer> {
        yield first
        // A gateway that collected the body before forwarding it would never relay these bytes: the wait fails.
        await eventually(() => ingest.progress.bodyBytes - relayedBefore >= first.length, 10_000, 'the upstream received the first 64 KiB while the client held back the rest')
        yield rest
      }
      const response = await raw(gateway.url, '/api/v1/ingest/upload', {
        method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: body(),
      })
      assert.equal(response.status, 200)
      assert.equal(ingest.last().bodySha256, createHash('sha256').update(first).update(rest).digest('hex'))
    })

    test('an upload is not buffered: while the upstream reads nothing, the client cannot send the whole body', async () => {
      const chunk = randomBytes(64 * 1024)
      const chunks = 96 * 16 // 96 MiB
      let sent = 0
      let lastAsked = performance.now()
      let release: () => void = () => undefined
      const released = new Promise<void>((resolve) => { release = resolve })
      ingest.onHeaders = (req) => {
        req.pause()
        void released.then(() => req.resume())
        return false
      }
      async function * body (): AsyncGenerator<Buffer> {
        for (let i = 0; i < chunks; i++) { sent += chunk.length; lastAsked = performance.now(); yield chunk }
      }
      try {
        const pending = raw(gateway.url, '/api/v1/ingest/upload', {
          method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }, body: body(),
        })
        // The client's writes wait for 'drain' once the buffers between it and the paused upstream are full: it
        // stops asking for chunks. A gateway that buffered would take all of them.
        await eventually(() => sent === chunks * chunk.length || performance.now() - lastAsked > 500, 60_000, 'the client\'s send stalled (or finished)')
        const sentWhilePaused = sent
        release()
        const response = await pending
        assert.equal(response.status, 200)
        assert.equal(ingest.last().bodyBytes, chunks * chunk.length)
        // What the client got rid of sits in kernel socket buffers and a few stream buffers, not in a copy of the body.
        assert.ok(sentWhilePaused < chunks * chunk.length * 0.75, `the client sent ${sentWhilePaused} of ${chunks * chunk.length} bytes to a stalled upstream`)
      } finally { ingest.onHeaders = undefined }
    })

    test('a 64 KiB response arrives intact with the upstream\'s headers', async () => {
      const payload = randomBytes(64 * 1024)
      ingest.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'yes', 'content-length': payload.length })
        res.end(payload)
      }
      try {
        const response = await raw(gateway.url, '/api/v1/ingest/file', { headers: auth })
        assert.equal(response.status, 200)
        assert.equal(response.headers['x-upstream'], 'yes')
        assert.ok(response.body.equals(payload))
      } finally { ingest.handler = echo }
    })

    test('bodies over the route limit get 413: by Content-Length, and when a chunked body crosses it; the upstream never receives more than the limit', async () => {
      const before = query.received.length
      const declared = await raw(gateway.url, '/api/v1/query/chats', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: Buffer.alloc(2048, 'a') })
      assert.equal(declared.status, 413)
      assert.equal(query.received.length, before)

      const relayedBefore = query.progress.bodyBytes
      async function * chunked (): AsyncGenerator<Buffer> {
        yield Buffer.alloc(1024, 'b') // exactly the limit: relayed
        await eventually(() => query.progress.bodyBytes - relayedBefore >= 1024, 10_000, 'the upstream received the first 1024 bytes')
        for (let i = 0; i < 64; i++) yield Buffer.alloc(16 * 1024, 'b') // more than one read of the gateway's
      }
      const streamed = await raw(gateway.url, '/api/v1/query/chats', { method: 'POST', headers: { ...auth, 'transfer-encoding': 'chunked' }, body: chunked() })
      assert.equal(streamed.status, 413)
      assert.match(String(json(streamed).detail), /exceeds the limit of 1024 bytes/)
      await eventually(() => query.received.length > before, 10_000, 'the upstream recorded the cut request')
      const received = query.received.slice(before)
      assert.equal(received.length, 1)
      assert.equal(received[0]?.bodyBytes, 1024, 'the upstream received the limit and not one byte more')
      assert.equal(received[0]?.aborted, true, 'and saw the request cut short')
    })
  })
}
