import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { signToken, startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { chunksOf, jsonOf, rawRequest, type RawResponse } from './helpers/http.js'
import { echo, startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'
import { openWebSocket, startWebSocketUpstream, type WebSocketUpstream } from './helpers/ws-upstream.js'

const MIB = 1024 * 1024

/** Runs `task` for 0..count-1, `width` at a time. */
async function inBatches<T> (count: number, width: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  for (let start = 0; start < count; start += width) {
    results.push(...await Promise.all(Array.from({ length: Math.min(width, count - start) }, async (_v, i) => task(start + i))))
  }
  return results
}

/** What a client that streams its body saw: the answer, or the error that took its place. */
async function outcome (pending: Promise<RawResponse>): Promise<string> {
  try {
    const response = await pending
    return `${response.status} ${String(jsonOf(response).detail)}`
  } catch (error) {
    return `error ${(error as { code?: string }).code ?? String(error)}`
  }
}

function tally (outcomes: string[]): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const item of outcomes) counts[item] = (counts[item] ?? 0) + 1
  return counts
}

describe('early answers reach a client that is still sending its body (Node http.request, streaming)', () => {
  let upstream: StandInUpstream
  let gateway: TestGateway
  let user: TestUser

  before(async () => {
    upstream = await startUpstream()
    gateway = await startGateway({
      env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_QUERY_SERVICE_URL: upstream.url, GATEWAY_RATE_LIMIT_IP_PER_MINUTE: '100000', GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '100000' },
    })
    user = await gateway.user({ companyId: (await gateway.company()).id })
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
  })

  const upload = (path: string, headers: Record<string, string>, bytes: number, chunked: boolean): Promise<RawResponse> =>
    rawRequest(gateway.url, path, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', ...headers, ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(bytes) }) },
      body: chunksOf(bytes / (64 * 1024), 64 * 1024),
    })

  for (const [what, header] of [
    ['no token', async () => ({})],
    ['an expired token', async () => ({ authorization: `Bearer ${await signToken({ sub: user.id, company_id: user.companyId }, { expiresIn: Math.floor(Date.now() / 1000) - 120 })}` })],
    ['a bad token', async () => ({ authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl' })],
  ] as const) {
    test(`100 uploads of 10 MiB with ${what}: every one gets its 401, the upstream nothing`, async () => {
      const headers = await header()
      const before = upstream.received.length
      const seen = tally(await inBatches(100, 5, async () => outcome(upload('/api/v1/ingest/upload', headers, 10 * MIB, false))))
      const statuses = Object.keys(seen)
      assert.equal(statuses.length, 1, JSON.stringify(seen))
      assert.match(statuses[0] as string, /^401 (Not authenticated|Token)/, JSON.stringify(seen))
      assert.equal(upstream.received.length, before, 'no refused upload reached the upstream')
    })
  }

  test('100 uploads of 2 MiB over the 1 MiB query limit, with a declared length: every one gets its 413, the upstream nothing', async () => {
    const authorization = `Bearer ${await gateway.tokenFor(user)}`
    const before = upstream.received.length
    const seen = tally(await inBatches(100, 5, async () => outcome(upload('/api/v1/query/upload', { authorization }, 2 * MIB, false))))
    assert.deepEqual(seen, { '413 Request body exceeds the limit of 1048576 bytes.': 100 })
    assert.equal(upstream.received.length, before)
  })

  test('100 chunked uploads of 2 MiB over the query limit: every one gets its 413, the upstream at most the limit of each', async () => {
    const authorization = `Bearer ${await gateway.tokenFor(user)}`
    const before = upstream.received.length
    const seen = tally(await inBatches(100, 5, async () => outcome(upload('/api/v1/query/upload', { authorization }, 2 * MIB, true))))
    assert.deepEqual(seen, { '413 Request body exceeds the limit of 1048576 bytes.': 100 })
    // Each cut upload reached the upstream (the limit was streamed to it first) and was aborted there.
    await eventually(() => upstream.received.length - before === 100, 10_000, 'the upstream recorded the 100 aborted uploads')
    const received = upstream.received.slice(before)
    assert.ok(received.every((r) => r.aborted && r.bodyBytes <= MIB), received.map((r) => `${r.bodyBytes}${r.aborted ? '' : ' complete'}`).join(','))
  })

  test('a 413 on the gateway\'s own API (login with a 4 MiB body) reaches the client too', async () => {
    const seen = tally(await inBatches(10, 5, async () => outcome(rawRequest(gateway.url, '/api/v1/users/login', {
      method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(4 * MIB) }, body: chunksOf(64, 64 * 1024),
    }))))
    assert.deepEqual(Object.keys(seen).map((key) => key.slice(0, 3)), ['413'], JSON.stringify(seen))
  })

  test('Expect: 100-continue: a refused upload gets its final answer, never a 100 Continue', async () => {
    const url = new URL(gateway.url)
    const socket = connect(Number(url.port), url.hostname)
    await new Promise((resolve) => socket.once('connect', resolve))
    let text = ''
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
    socket.write(`POST /api/v1/ingest/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * MIB}\r\nExpect: 100-continue\r\n\r\n`)
    await eventually(() => text.includes('\r\n\r\n{'), 5000, 'the answer')
    socket.destroy()
    assert.match(text, /^HTTP\/1\.1 401 /)
    assert.ok(!text.includes('100 Continue'), text)
  })

  test('a request pipelined behind a refused body is never forwarded, nor one hidden inside that body', async () => {
    const token = await gateway.tokenFor(user)
    const hidden = `GET /api/v1/ingest/hidden HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`
    const url = new URL(gateway.url)
    const socket = connect(Number(url.port), url.hostname)
    await new Promise((resolve) => socket.once('connect', resolve))
    let text = ''
    socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
    let closed = false
    socket.once('close', () => { closed = true })
    // No token: refused before its body is read. The body itself looks like a request, and a real one follows it.
    socket.write(`POST /api/v1/ingest/upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(hidden)}\r\n\r\n${hidden}` +
      `GET /api/v1/ingest/pipelined HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`)
    await eventually(() => closed, 10_000, 'the refused connection closed')
    assert.match(text, /^HTTP\/1\.1 401 /)
    assert.equal(text.match(/HTTP\/1\.1 /g)?.length, 1, 'one answer, then the connection closed')
    // A marker sent after the close: once the upstream has it, anything forwarded from the closed connection would be there too.
    assert.equal((await rawRequest(gateway.url, '/api/v1/ingest/marker', { headers: { authorization: `Bearer ${token}` } })).status, 200)
    await eventually(() => upstream.received.some((r) => r.url.endsWith('/marker')), 10_000, 'the marker recorded by the upstream')
    assert.ok(!upstream.received.some((r) => r.url.endsWith('/hidden') || r.url.endsWith('/pipelined')), 'neither request reached the upstream')
  })
})

describe('concurrency caps guard what is expensive', () => {
  let upstream: StandInUpstream
  let gateway: TestGateway
  let members: TestUser[]

  before(async () => {
    upstream = await startUpstream()
    gateway = await startGateway({ env: { GATEWAY_QUERY_SERVICE_URL: upstream.url, GATEWAY_INGEST_SERVICE_URL: upstream.url } })
    const company = await gateway.company()
    members = await Promise.all(Array.from({ length: 20 }, async () => gateway.user({ companyId: company.id })))
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
  })

  test('200 concurrent quick GETs on query routes from one company (20 users): all 200 succeed', async () => {
    const tokens = await Promise.all(members.map(async (member) => gateway.tokenFor(member)))
    const held: (() => void)[] = []
    upstream.handler = (req, res, received) => { held.push(() => echo(req, res, received)) }
    try {
      const pending = Array.from({ length: 200 }, async (_v, i) => rawRequest(gateway.url, `/api/v1/query/chats?i=${i}`, { headers: { authorization: `Bearer ${tokens[i % 20]}` } }))
      await eventually(() => held.length === 200, 10_000, 'all 200 requests in flight at the upstream')
      for (const release of held) release()
      const statuses = (await Promise.all(pending)).map((response) => response.status)
      assert.deepEqual(tally(statuses.map(String)), { 200: 200 })
    } finally { upstream.handler = echo }
  })

  test('30 concurrent asks from one company with the default cap (20): 10 get 429 at once, 20 are answered', async () => {
    const tokens = await Promise.all(members.map(async (member) => gateway.tokenFor(member)))
    const held: (() => void)[] = []
    upstream.handler = (req, res, received) => { held.push(() => echo(req, res, received)) }
    try {
      const started = performance.now()
      const refusedAt: number[] = []
      const pending = Array.from({ length: 30 }, async (_v, i) => {
        const response = await rawRequest(gateway.url, '/api/v1/query/ask', { method: 'POST', headers: { authorization: `Bearer ${tokens[i % 20]}`, 'content-type': 'application/json' }, body: Buffer.from('{"q":"?"}') })
        if (response.status === 429) refusedAt.push(performance.now() - started)
        return response
      })
      await eventually(() => held.length === 20 && refusedAt.length === 10, 10_000, '20 asks at the upstream and 10 refused')
      for (const release of held) release()
      const responses = await Promise.all(pending)
      assert.deepEqual(tally(responses.map((r) => String(r.status))), { 200: 20, 429: 10 })
      assert.ok(responses.filter((r) => r.status === 429).every((r) => jsonOf(r).detail === 'Too many requests.' && r.headers['retry-after'] === '1'))
    } finally { upstream.handler = echo }
  })
})

describe('WebSocket upgrades take the same road as HTTP requests', () => {
  let ws: WebSocketUpstream
  let http: StandInUpstream
  let gateway: TestGateway
  let user: TestUser

  before(async () => {
    ws = await startWebSocketUpstream()
    http = await startUpstream()
    gateway = await startGateway({
      env: { GATEWAY_QUERY_SERVICE_URL: ws.url, GATEWAY_INGEST_SERVICE_URL: http.url, GATEWAY_TRUST_PROXY: '1', GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '4' },
    })
    user = await gateway.user({ companyId: (await gateway.company()).id })
  })
  after(async () => {
    await gateway.close()
    await ws.close()
    await http.close()
  })

  test('behind a trusted proxy, a WebSocket carries the same X-Forwarded-For and identity headers as an HTTP request', async () => {
    const headers = { authorization: `Bearer ${await gateway.tokenFor(user)}`, 'x-forwarded-for': '198.51.100.7, 203.0.113.9', 'x-forwarded-proto': 'https', 'x-user-id': 'spoofed' }
    const answer = await rawRequest(gateway.url, '/api/v1/ingest/status', { headers })
    assert.equal(answer.status, 200)
    const socket = await openWebSocket(gateway.url, '/api/v1/query/ws', headers)
    socket.close()
    const viaHttp = http.last().headers
    const viaWebSocket = ws.handshakes.at(-1)?.headers ?? {}
    for (const name of ['x-forwarded-for', 'x-forwarded-proto', 'x-user-id', 'x-company-id', 'x-user-email', 'x-user-roles', 'x-auth-type', 'via']) {
      assert.equal(viaWebSocket[name], viaHttp[name], name)
    }
    assert.equal(viaHttp['x-forwarded-for'], '198.51.100.7, 203.0.113.9, 127.0.0.1')
    assert.equal(viaHttp['x-user-id'], user.id)
  })

  test('upgrades show in the access log and the metrics, and count against the user\'s rate limit', async () => {
    const member = await gateway.user({ companyId: user.companyId })
    const authorization = `Bearer ${await gateway.tokenFor(member)}`
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) {
      try {
        const socket = await openWebSocket(gateway.url, `/api/v1/query/ws?n=${i}`, { authorization })
        statuses.push(101)
        socket.close()
        await new Promise((resolve) => socket.once('close', resolve))
      } catch (error) {
        statuses.push((error as { status?: number }).status ?? 0)
      }
    }
    assert.deepEqual(statuses, [101, 101, 101, 101, 429, 429])
    await eventually(() => gateway.logs.entries.filter((e) => e.msg === 'request completed' && e.user_id === member.id && e.status === 101).length === 4, 3000, 'four access lines with status 101')
    const line = gateway.logs.entries.find((e) => e.msg === 'request completed' && e.user_id === member.id && e.status === 429)
    assert.equal(line?.error_code, 'RATE_LIMITED')
    assert.equal(line?.route, '/api/v1/query/*')
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    assert.match(metrics, /gateway_http_request_duration_seconds_count\{route="\/api\/v1\/query\/\*",method="GET",status="101"\} ([4-9]|\d\d+)/)
    assert.match(metrics, /gateway_rate_limit_rejections_total\{route="\/api\/v1\/query\/\*"\} [2-9]/)
  })
})
