import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { jsonOf, rawRequest, type RawResponse } from './helpers/http.js'
import { writeRoutesFile } from './helpers/routes-file.js'
import { python3Missing, startBlackhole, startTcpUpstream, type Blackhole, type TcpUpstream } from './helpers/tcp-upstreams.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

// README, "Errors": 502 for an answer that is not HTTP, 503 for a name that does not resolve, 504 when the
// upstream does not connect, answer or send body bytes in time; a response cut after its head reaches the
// client cut. Each failure gets a route of its own in one gateway, with the undici errors raised for real.

const TIMED_OUT = { detail: 'Upstream service timed out.' }
const UNAVAILABLE = { detail: 'Could not connect to upstream service.' }
const BAD_GATEWAY = { detail: 'Error communicating with upstream service.' }
const PROCESS_TIME = /^\d+\.\d{2}ms$/

/** What the client got: the whole answer, or the error its body (or head) ended with. */
async function outcome (url: string, path: string, headers: Record<string, string>): Promise<{ response?: RawResponse, error?: Error, ms: number }> {
  const started = performance.now()
  try {
    return { response: await rawRequest(url, path, { headers }), ms: performance.now() - started }
  } catch (error) {
    return { error: error as Error, ms: performance.now() - started }
  }
}

describe('upstream failures, as undici raises them', () => {
  let gateway: TestGateway
  let stalling: StandInUpstream
  let dying: StandInUpstream
  let garbage: TcpUpstream
  let blackhole: Blackhole | undefined
  let auth: Record<string, string>

  before(async () => {
    stalling = await startUpstream()
    dying = await startUpstream()
    garbage = await startTcpUpstream((socket) => { socket.write('SSH-2.0-OpenSSH_9.6\r\n') })
    blackhole = python3Missing ? undefined : await startBlackhole()
    const route = (name: string, upstream: string, timeoutMs = 1000): Record<string, unknown> =>
      ({ name, path: `/api/v1/${name}`, upstream, upstreamPath: `/${name}`, timeoutMs })
    gateway = await startGateway({
      env: {
        // The header timeout far above the connect timeout: a 504 within ~1 s can only be the connect timeout.
        GATEWAY_HTTP_CLIENT_CONNECT_TIMEOUT: '1',
        GATEWAY_HTTP_CLIENT_TIMEOUT: '8',
        GATEWAY_ROUTES_FILE: writeRoutesFile([
          route('stalling', stalling.url),
          route('dying', dying.url),
          route('garbage', garbage.url),
          route('unresolvable', 'http://nonexistent.invalid'),
          route('blackhole', blackhole?.url ?? 'http://127.0.0.1:9', 8000),
        ] as never),
      },
    })
    const user = await gateway.user({ companyId: (await gateway.company()).id })
    auth = { authorization: `Bearer ${await gateway.tokenFor(user)}` }
  })
  after(async () => {
    await gateway.close()
    await Promise.all([stalling.close(), dying.close(), garbage.close(), blackhole?.close()])
  })

  /** gateway_upstream_errors_total for one upstream and code. */
  const upstreamErrors = async (upstream: string, code: string): Promise<number> => {
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text()
    const line = metrics.split('\n').find((l) => l.startsWith('gateway_upstream_errors_total{') && l.includes(`upstream="${upstream}"`) && l.includes(`code="${code}"`))
    return line === undefined ? 0 : Number(line.split(' ').at(-1))
  }

  /** A cut after the head is the upstream's failure in the access log and the metrics, not a client gone (499). */
  const expectUpstreamBlamed = async (requestId: string, upstream: string, code: string, before: number): Promise<void> => {
    const accessOf = (): Record<string, unknown> | undefined => gateway.logs.entries.find((entry) => entry.request_id === requestId && 'status' in entry)
    await eventually(() => accessOf() !== undefined, 2000, 'the access line')
    assert.equal(accessOf()?.status, 200, 'the status that was sent')
    assert.equal(accessOf()?.error_code, code)
    assert.equal(await upstreamErrors(upstream, code), before + 1, `gateway_upstream_errors_total{upstream="${upstream}",code="${code}"}`)
  }

  test('an upstream whose TCP handshake never completes: 504 after the connect timeout (1 s), not the route\'s 8 s', { skip: python3Missing }, async () => {
    const { response, ms } = await outcome(gateway.url, '/api/v1/blackhole/x', { ...auth, 'x-request-id': 'claim-connect-timeout' })
    assert.ok(response, 'an answer')
    assert.equal(response.status, 504)
    assert.deepEqual(jsonOf(response), TIMED_OUT)
    assert.ok(ms >= 900 && ms < 5000, `answered after ${ms.toFixed(0)} ms`)
    assert.equal(response.headers['x-request-id'], 'claim-connect-timeout')
    assert.match(String(response.headers['x-process-time']), PROCESS_TIME)
    const logged = gateway.logs.entries.find((entry) => entry.request_id === 'claim-connect-timeout' && entry.code === 'UPSTREAM_TIMEOUT')
    assert.ok(logged, 'the refusal is logged with its code')
  })

  test('an upstream that never sends its head: 504 with the request id and process time', async () => {
    stalling.handler = () => undefined
    const { response, ms } = await outcome(gateway.url, '/api/v1/stalling/head', { ...auth, 'x-request-id': 'claim-head-timeout' })
    assert.ok(response, 'an answer')
    assert.equal(response.status, 504)
    assert.deepEqual(jsonOf(response), TIMED_OUT)
    assert.ok(ms < 5000, `answered after ${ms.toFixed(0)} ms`)
    assert.equal(response.headers['x-request-id'], 'claim-head-timeout')
    assert.match(String(response.headers['x-process-time']), PROCESS_TIME)
  })

  for (const framing of ['content-length', 'chunked'] as const) {
    test(`a body that stalls after its first bytes (${framing}): the client sees the response cut within the timeout, never a clean end; logged as the upstream's timeout, not a client gone`, async () => {
      stalling.handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', ...(framing === 'content-length' ? { 'content-length': '1000' } : {}) })
        res.write('first bytes ')
      }
      const requestId = `claim-stall-${framing}`
      const before = await upstreamErrors('stalling', 'UPSTREAM_TIMEOUT')
      const { response, error, ms } = await outcome(gateway.url, '/api/v1/stalling/body', { ...auth, 'x-request-id': requestId })
      assert.equal(response, undefined, `a clean ${response?.status} with ${response?.body.length} bytes`)
      assert.ok(error, 'the client saw an error')
      assert.ok(ms < 5000, `cut after ${ms.toFixed(0)} ms`)
      await expectUpstreamBlamed(requestId, 'stalling', 'UPSTREAM_TIMEOUT', before)
    })
  }

  test('a non-HTTP answer (an SSH banner): 502', async () => {
    const { response } = await outcome(gateway.url, '/api/v1/garbage/x', { ...auth, 'x-request-id': 'claim-garbage' })
    assert.ok(response, 'an answer')
    assert.equal(response.status, 502)
    assert.deepEqual(jsonOf(response), BAD_GATEWAY)
    assert.equal(response.headers['x-request-id'], 'claim-garbage')
    assert.match(String(response.headers['x-process-time']), PROCESS_TIME)
    assert.ok(garbage.accepted > 0, 'the gateway did connect to it')
  })

  test('an upstream name that does not resolve: 503', async () => {
    const { response, ms } = await outcome(gateway.url, '/api/v1/unresolvable/x', { ...auth, 'x-request-id': 'claim-unresolvable' })
    assert.ok(response, 'an answer')
    assert.equal(response.status, 503)
    assert.deepEqual(jsonOf(response), UNAVAILABLE)
    assert.ok(ms < 5000, `answered after ${ms.toFixed(0)} ms`)
    assert.equal(response.headers['x-request-id'], 'claim-unresolvable')
    assert.match(String(response.headers['x-process-time']), PROCESS_TIME)
  })

  for (const framing of ['content-length', 'chunked'] as const) {
    test(`an upstream that dies after its head and part of its body (${framing}): the client sees a cut, not a clean truncated body; logged as the upstream's failure`, async () => {
      dying.handler = (req, res) => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', ...(framing === 'content-length' ? { 'content-length': '100000' } : {}) })
        res.write(Buffer.alloc(4096, 1), () => { setImmediate(() => req.socket.destroy()) })
      }
      const requestId = `claim-dying-${framing}`
      const before = await upstreamErrors('dying', 'UPSTREAM_BAD_GATEWAY')
      const { response, error } = await outcome(gateway.url, '/api/v1/dying/x', { ...auth, 'x-request-id': requestId })
      assert.equal(response, undefined, `a clean ${response?.status} with ${response?.body.length} bytes`)
      assert.ok(error, 'the client saw an error')
      await expectUpstreamBlamed(requestId, 'dying', 'UPSTREAM_BAD_GATEWAY', before)
      // The gateway itself goes on serving.
      dying.handler = (_req, res) => res.end('fine')
      const next = await rawRequest(gateway.url, '/api/v1/dying/y', { headers: auth })
      assert.equal(next.body.toString(), 'fine')
    })
  }
})
