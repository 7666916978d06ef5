import assert from 'node:assert/strict'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { chunksOf, rawRequest } from './helpers/http.js'
import { closedPortUrl, startUpstream, type StandInUpstream } from './helpers/upstream.js'

// README, "Errors": every error the gateway itself produces is JSON {"detail": ...} plus X-Request-ID and
// X-Process-Time, including those refused before any route (414, 431) and the upstream failures (5xx).

const PROCESS_TIME = /^\d+\.\d{2}ms$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** One request written byte for byte on a fresh socket; the raw answer up to the server's close (bounded). */
async function rawExchange (url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  let answer = ''
  socket.on('data', (chunk: Buffer) => { answer += chunk.toString('latin1') })
  socket.on('error', () => undefined)
  socket.write(request)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`no close within 5 s; got ${JSON.stringify(answer.slice(0, 200))}`)) }, 5000)
    socket.once('close', () => { clearTimeout(timer); resolve() })
  })
  return answer
}

const headerOf = (answer: string, name: string): string | undefined =>
  new RegExp(`^${name}: *(.*?)\\r$`, 'im').exec(answer.split('\r\n\r\n')[0] + '\r')?.[1]

describe('X-Request-ID and X-Process-Time on the gateway\'s own errors', () => {
  let gateway: TestGateway
  let upstream: StandInUpstream
  let auth: Record<string, string>

  before(async () => {
    upstream = await startUpstream()
    gateway = await startGateway({
      env: {
        GATEWAY_INGEST_SERVICE_URL: upstream.url,
        GATEWAY_QUERY_SERVICE_URL: await closedPortUrl(),
        GATEWAY_MAX_BODY_BYTES: '1024',
        GATEWAY_INGEST_MAX_BODY_BYTES: '4096',
        GATEWAY_MAX_URL_BYTES: '1024',
        GATEWAY_MAX_HEADER_BYTES: '4096',
        GATEWAY_MAX_HEADER_COUNT: '20',
      },
    })
    const user = await gateway.user({ companyId: (await gateway.company()).id })
    auth = { authorization: `Bearer ${await gateway.tokenFor(user)}` }
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
  })

  const expectHeaders = (headers: Record<string, unknown>, id: string | RegExp, what: string): void => {
    if (typeof id === 'string') assert.equal(headers['x-request-id'], id, `${what}: X-Request-ID`)
    else assert.match(String(headers['x-request-id']), id, `${what}: X-Request-ID`)
    assert.match(String(headers['x-process-time']), PROCESS_TIME, `${what}: X-Process-Time`)
  }

  test('413 by Content-Length and by a chunked body crossing the limit, on a proxied route', async () => {
    const declared = await rawRequest(gateway.url, '/api/v1/ingest/up', { method: 'POST', headers: { ...auth, 'x-request-id': 'claim-413-declared' }, body: Buffer.alloc(8192) })
    assert.equal(declared.status, 413)
    expectHeaders(declared.headers, 'claim-413-declared', '413 declared')
    const chunked = await rawRequest(gateway.url, '/api/v1/ingest/up', { method: 'POST', headers: { ...auth, 'x-request-id': 'claim-413-chunked', 'transfer-encoding': 'chunked' }, body: chunksOf(16, 1024) })
    assert.equal(chunked.status, 413)
    expectHeaders(chunked.headers, 'claim-413-chunked', '413 chunked')
    assert.ok(upstream.received.every((r) => r.bodyBytes <= 4096), 'no upstream got more than the limit')
  })

  test('413 on the gateway\'s own API (a login body over its limit)', async () => {
    const login = await rawRequest(gateway.url, '/api/v1/users/login', { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'claim-413-login' }, body: Buffer.alloc(2 * 1024 * 1024, 0x20) })
    assert.equal(login.status, 413)
    expectHeaders(login.headers, 'claim-413-login', '413 login')
  })

  test('414 for a request target over GATEWAY_MAX_URL_BYTES', async () => {
    const long = await rawRequest(gateway.url, `/api/v1/ingest/${'a'.repeat(2000)}`, { headers: { ...auth, 'x-request-id': 'claim-414' } })
    assert.equal(long.status, 414)
    expectHeaders(long.headers, 'claim-414', '414')
  })

  test('431 for more header fields than GATEWAY_MAX_HEADER_COUNT', async () => {
    const many: Record<string, string> = { 'x-request-id': 'claim-431-count' }
    for (let i = 0; i < 30; i++) many[`x-extra-${i}`] = 'v'
    const refused = await rawRequest(gateway.url, '/api/v1/ingest/x', { headers: { ...auth, ...many } })
    assert.equal(refused.status, 431)
    // Node's parser refuses the block before any request exists, so the client's own id cannot be kept: a fresh one.
    expectHeaders(refused.headers, UUID, '431 count')
  })

  test('431 for a header block over GATEWAY_MAX_HEADER_BYTES (refused by Node\'s parser, before any route)', async () => {
    const answer = await rawExchange(gateway.url, `GET /api/v1/ingest/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(8000)}\r\n\r\n`)
    assert.match(answer, /^HTTP\/1\.1 431 /)
    assert.match(answer, /\{"detail":"Request Header Fields Too Large"\}$/)
    assert.match(headerOf(answer, 'x-request-id') ?? '', UUID, `X-Request-ID in ${JSON.stringify(answer.split('\r\n\r\n')[0])}`)
    assert.match(headerOf(answer, 'x-process-time') ?? '', PROCESS_TIME, 'X-Process-Time')
  })

  test('400 for a request Node\'s parser cannot read carries them too', async () => {
    const answer = await rawExchange(gateway.url, 'GET /x HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n')
    assert.match(answer, /^HTTP\/1\.1 400 /)
    assert.match(headerOf(answer, 'x-request-id') ?? '', UUID, 'X-Request-ID')
    assert.match(headerOf(answer, 'x-process-time') ?? '', PROCESS_TIME, 'X-Process-Time')
  })

  test('a WebSocket upgrade refused at the door (414, or 404 off the route table) carries them too', async () => {
    const upgrade = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Request-ID: claim-ws\r\n\r\n`
    for (const [target, status] of [[`/api/v1/query/${'a'.repeat(2000)}`, 414], ['/nowhere', 404]] as const) {
      const answer = await rawExchange(gateway.url, upgrade(target))
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `))
      assert.equal(headerOf(answer, 'x-request-id'), 'claim-ws', `${status}: X-Request-ID`)
      assert.match(headerOf(answer, 'x-process-time') ?? '', PROCESS_TIME, `${status}: X-Process-Time`)
    }
  })

  test('503 from an unreachable upstream, with a fresh id when the client sent an unsafe one', async () => {
    const refused = await rawRequest(gateway.url, '/api/v1/query/x', { headers: { ...auth, 'x-request-id': 'not safe;<script>' } })
    assert.equal(refused.status, 503)
    expectHeaders(refused.headers, UUID, '503')
  })
})
