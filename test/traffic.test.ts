import assert from 'node:assert/strict'
import type { IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type WebSocket from 'ws'
import { backends, type Backend } from './helpers/databases.js'
import { signToken, startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { jsonOf, postJson as post, rawRequest as raw } from './helpers/http.js'
import { echo, startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'
import { openWebSocket, refusedWith, startWebSocketUpstream, type WebSocketUpstream } from './helpers/ws-upstream.js'

const DRAFT10_POLICY = /^"[a-z-]+";q=\d+;w=\d+(, "[a-z-]+";q=\d+;w=\d+)*$/
const DRAFT10_LIMIT = /^"[a-z-]+";r=\d+;t=\d+(, "[a-z-]+";r=\d+;t=\d+)*$/

function limitsSuite (backend: Backend): void {
  describe(`rate limits and concurrency (in memory) [${backend}]`, () => {
    let gateway: TestGateway
    let upstream: StandInUpstream
    let user: TestUser

    before(async () => {
      upstream = await startUpstream()
      gateway = await startGateway({
        backend,
        env: {
          GATEWAY_INGEST_SERVICE_URL: upstream.url,
          GATEWAY_QUERY_SERVICE_URL: upstream.url,
          GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '5',
          GATEWAY_QUERY_MAX_CONCURRENT_PER_COMPANY: '2',
        },
      })
      user = await gateway.user({ companyId: (await gateway.company()).id })
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    test('30 wrong passwords for one email: 429 long before the 30th, even with the right password then', async () => {
      const victim = await gateway.user()
      const statuses: number[] = []
      for (let i = 0; i < 30; i++) {
        statuses.push((await post(`${gateway.url}/api/v1/users/login`, { email: victim.email, password: `wrong-guess-${i}` })).status)
      }
      assert.deepEqual(statuses.slice(0, 10), Array(10).fill(401))
      assert.ok(statuses.slice(10).every((status) => status === 429), statuses.join(','))
      const right = await post(`${gateway.url}/api/v1/users/login`, { email: victim.email, password: victim.password })
      assert.equal(right.status, 429)
      assert.deepEqual(await right.json(), { detail: 'Too many requests.' })
      assert.ok(Number(right.headers.get('retry-after')) > 0)
      const other = await gateway.user()
      assert.equal((await post(`${gateway.url}/api/v1/users/login`, { email: other.email, password: other.password })).status, 200, 'other accounts are unaffected')
    })

    test('per-user limit on proxied routes: 429 with Retry-After and draft-10 headers', async () => {
      const token = await gateway.tokenFor(await gateway.user({ companyId: user.companyId }))
      const responses: Response[] = []
      for (let i = 0; i < 6; i++) responses.push(await fetch(`${gateway.url}/api/v1/ingest/x`, { headers: { authorization: `Bearer ${token}` } }))
      assert.deepEqual(responses.map((r) => r.status), [200, 200, 200, 200, 200, 429])
      const first = responses[0] as Response
      assert.match(first.headers.get('ratelimit-policy') ?? '', DRAFT10_POLICY)
      assert.match(first.headers.get('ratelimit') ?? '', DRAFT10_LIMIT)
      assert.match(first.headers.get('ratelimit') ?? '', /^"user";r=4;t=\d+/)
      const limited = responses[5] as Response
      assert.deepEqual(await limited.json(), { detail: 'Too many requests.' })
      assert.ok(Number(limited.headers.get('retry-after')) >= 1)
      assert.match(limited.headers.get('ratelimit') ?? '', /^"user";r=0;t=\d+/)
    })

    test('per-company concurrency cap on the LLM route: the excess gets 429 at once', async () => {
      const held: (() => void)[] = []
      upstream.handler = (_req, res, received) => { held.push(() => echo(_req, res, received)) }
      try {
        const members = await Promise.all([1, 2, 3].map(async () => gateway.user({ companyId: user.companyId })))
        const tokens = await Promise.all(members.map(async (member) => gateway.tokenFor(member)))
        const ask = async (token: string | undefined): Promise<Response> => fetch(`${gateway.url}/api/v1/query/ask`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: '{}' })
        const slow = tokens.slice(0, 2).map(ask)
        await eventually(() => held.length === 2, 10_000, 'the upstream holding two asks')
        // Refused while the two are still held: a queued third ask would wait for them, and this would never answer.
        let third: Response | undefined
        void ask(tokens[2]).then((response) => { third = response })
        await eventually(() => third !== undefined, 10_000, 'the third ask answered while the first two are held')
        assert.equal(third?.status, 429)
        assert.equal(held.length, 2, 'the third ask never reached the upstream')
        upstream.handler = echo
        for (const release of held) release()
        const statuses = (await Promise.all(slow)).map((r) => r.status)
        assert.deepEqual(statuses, [200, 200])
        assert.equal((await ask(tokens[2])).status, 200)
      } finally { upstream.handler = echo }
    })
  })
}

function sizeAndTimeSuite (backend: Backend): void {
  describe(`size and time limits [${backend}]`, () => {
    let gateway: TestGateway
    let upstream: StandInUpstream
    let auth: string

    before(async () => {
      upstream = await startUpstream()
      gateway = await startGateway({ backend, env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_HEADERS_TIMEOUT: '2', GATEWAY_MAX_URL_BYTES: '2048' } })
      auth = `Bearer ${await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id }))}`
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    test('a slowloris client is cut off by the headers timeout while others are served', async () => {
      const url = new URL(gateway.url)
      const socket = connect(Number(url.port), url.hostname)
      let closedAfter = Number.POSITIVE_INFINITY
      const started = performance.now()
      let answer = ''
      socket.on('data', (chunk) => { answer += chunk.toString() })
      const closed = new Promise<void>((resolve) => socket.on('close', () => { closedAfter = performance.now() - started; resolve() }))
      socket.on('error', () => undefined)
      const request = 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '
      let i = 0
      const drip = setInterval(() => { if (!socket.destroyed) socket.write(request[i++ % request.length] as string) }, 1000)
      try {
        const served = await fetch(`${gateway.url}/health/live`)
        assert.equal(served.status, 200, 'another client is served meanwhile')
        // The client drips a byte a second forever: only the gateway's 2 s headers timeout ends it.
        await eventually(() => closedAfter !== Number.POSITIVE_INFINITY, 15_000, 'the slow connection cut by the headers timeout')
        await closed
        if (answer) assert.match(answer, /^HTTP\/1\.1 408/)
      } finally {
        clearInterval(drip)
        socket.destroy()
      }
    })

    test('a 200 MiB chunked upload over the 100 MiB ingest limit: 413, and the upstream gets no more than the limit', async () => {
      const before = upstream.received.length
      const mib = Buffer.alloc(1024 * 1024, 7)
      async function * body (): AsyncGenerator<Buffer> {
        for (let i = 0; i < 101; i++) yield mib
        // Past the limit: the gateway cuts the upstream request and answers 413. A client that reads its answer
        // stops there (rawRequest does, as browsers do); one that sent the other 99 MiB regardless would only
        // race the gateway's lingering close for the answer.
        await eventually(() => upstream.received.length > before, 30_000, 'the upstream recorded the cut upload')
        for (let i = 101; i < 200; i++) yield mib
      }
      const response = await raw(gateway.url, '/api/v1/ingest/upload', { method: 'POST', headers: { authorization: auth, 'transfer-encoding': 'chunked' }, body: body() })
      assert.equal(response.status, 413)
      await eventually(() => upstream.received.length > before, 30_000, 'the upstream recorded the cut upload')
      const received = upstream.received.slice(before)
      assert.equal(received.length, 1)
      assert.ok((received[0]?.bodyBytes ?? Infinity) <= 100 * 1024 * 1024, `upstream received ${received[0]?.bodyBytes} bytes`)
      assert.equal(received[0]?.aborted, true, 'the upstream saw the upload cut short')
    })

    test('an over-long URL is a 414, an over-large header block a 431, both JSON', async () => {
      const long = await fetch(`${gateway.url}/api/v1/ingest/${'a'.repeat(3000)}`, { headers: { authorization: auth } })
      assert.equal(long.status, 414)
      assert.deepEqual(await long.json(), { detail: 'URI Too Long' })
      const big = await raw(gateway.url, '/', { headers: { 'x-big': 'b'.repeat(20_000) } })
      assert.equal(big.status, 431)
      assert.deepEqual(jsonOf(big), { detail: 'Request Header Fields Too Large' })
    })
  })
}

function webSocketSuite (backend: Backend): void {
  describe(`WebSocket upgrades [${backend}]`, () => {
    let gateway: TestGateway
    let user: TestUser
    let upstream: WebSocketUpstream
    let handshakes: IncomingMessage[]

    before(async () => {
      upstream = await startWebSocketUpstream()
      handshakes = upstream.handshakes
      gateway = await startGateway({ backend, env: { GATEWAY_QUERY_SERVICE_URL: upstream.url } })
      user = await gateway.user({ companyId: (await gateway.company()).id })
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    const open = async (path: string, headers: Record<string, string> = {}): Promise<WebSocket> => openWebSocket(gateway.url, path, headers)
    const exchange = async (socket: WebSocket, message: string): Promise<string> => {
      const reply = new Promise<string>((resolve) => socket.once('message', (data) => resolve(data.toString())))
      socket.send(message)
      return reply
    }

    test('an upgrade without a token is refused with 401 before any upstream connection', async () => {
      const before = handshakes.length
      await assert.rejects(open('/api/v1/query/ws'), refusedWith(401))
      await assert.rejects(open('/api/v1/query/ws?ticket=forged'), refusedWith(401))
      assert.equal(handshakes.length, before)
    })

    test('a ticket opens one socket: messages echo through, identity headers on the upstream handshake; it cannot be reused', async () => {
      const token = await gateway.tokenFor(user)
      const issued = await fetch(`${gateway.url}/api/v1/users/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
      assert.equal(issued.status, 200)
      const { ticket, expires_in: expiresIn } = await issued.json() as { ticket: string, expires_in: number }
      assert.equal(expiresIn, 30)
      const socket = await open(`/api/v1/query/ws?room=7&ticket=${ticket}`, { 'X-User-ID': 'spoofed' })
      assert.equal(await exchange(socket, 'hello'), 'echo:hello')
      const handshake = handshakes.at(-1) as IncomingMessage
      assert.equal(handshake.url, '/api/v1/ws?room=7', 'the ticket is not forwarded')
      assert.equal(handshake.headers['x-user-id'], user.id)
      assert.equal(handshake.headers['x-company-id'], user.companyId)
      assert.equal(handshake.rawHeaders.filter((_v, i) => i % 2 === 0).filter((n) => n.toLowerCase() === 'x-user-id').length, 1)
      socket.close()
      await assert.rejects(open(`/api/v1/query/ws?ticket=${ticket}`), refusedWith(401))
    })

    test('a bearer header works too, and the socket closes with 1008 when the token expires', async () => {
      const token = await signToken({ sub: user.id, email: user.email, company_id: user.companyId }, { expiresIn: Math.floor(Date.now() / 1000) + 2 })
      const socket = await open('/api/v1/query/ws', { authorization: `Bearer ${token}` })
      assert.equal(await exchange(socket, 'ping'), 'echo:ping')
      let code: number | undefined
      socket.once('close', (closeCode) => { code = closeCode })
      await eventually(() => code !== undefined, 15_000, 'the socket closed when its token expired')
      assert.equal(code, 1008)
    })
  })
}

for (const { backend, skip } of await backends()) {
  describe(`traffic limits [${backend}]`, { skip }, () => {
    limitsSuite(backend)
    sizeAndTimeSuite(backend)
    webSocketSuite(backend)
  })
}
