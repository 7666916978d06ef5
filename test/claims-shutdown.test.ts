import assert from 'node:assert/strict'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startBuiltGateway } from './helpers/built-gateway.js'
import { cliMissing, type RunningCli } from './helpers/cli.js'
import { rawRequest } from './helpers/http.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

// README, "Operating it", Shutdown: on SIGTERM readiness turns 503, the listener closes, in-flight requests
// drain for up to GATEWAY_SHUTDOWN_TIMEOUT seconds, then the process exits 0; a second signal exits at once.
// The built binary, stopped with real signals.

/** Resolves with the exit code and how long after `from` it came (bounded). */
async function exitOf (cli: RunningCli, from: number, timeoutMs: number): Promise<{ code: number | null, ms: number }> {
  const { child } = cli
  if (child.exitCode === null && child.signalCode === null) {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    await once(child, 'exit')
    clearTimeout(timer)
  }
  return { code: child.exitCode, ms: performance.now() - from }
}

/** A keep-alive socket on which requests are written by hand, so that one can be half-sent across the signal. */
async function openSocket (url: string): Promise<{ socket: Socket, received: () => string }> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  let data = ''
  socket.on('data', (chunk: Buffer) => { data += chunk.toString('latin1') })
  socket.on('error', () => undefined)
  await once(socket, 'connect')
  return { socket, received: () => data }
}

describe('shutdown on real signals (the built binary)', { skip: cliMissing }, () => {
  let upstream: StandInUpstream
  before(async () => {
    // Never answers: whatever is in flight stays in flight until the gateway gives up on it.
    upstream = await startUpstream(() => undefined)
  })
  after(async () => { await upstream.close() })

  test('SIGTERM: readiness answers 503 on a connection already open, new connections are refused, exit 0 once drained', async () => {
    const gateway = await startBuiltGateway({ GATEWAY_AUTH_SERVICE_URL: upstream.url, GATEWAY_SHUTDOWN_TIMEOUT: '20' })
    try {
      const { socket, received } = await openSocket(gateway.url)
      socket.write('GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n')
      await eventually(() => /^HTTP\/1\.1 200 [\s\S]*"status":"healthy"/.test(received()), 5000, 'ready before the signal')
      // The next request half sent: the connection is busy, so the drain's idle sweep leaves it open.
      const before = received().length
      socket.write('GET /health/ready HTTP/1.1\r\nHost: x\r\n')
      await new Promise((resolve) => setImmediate(resolve))
      const signalled = performance.now()
      gateway.cli.child.kill('SIGTERM')
      await gateway.cli.waitFor(/shutting down: draining/, 5000)
      await assert.rejects(rawRequest(gateway.url, '/health/live'), /ECONNREFUSED/, 'new connections are refused')
      socket.write('\r\n')
      await eventually(() => /\r\n\r\n[\s\S]+/.test(received().slice(before)), 5000, 'the readiness answer while draining')
      const answer = received().slice(before)
      assert.match(answer, /^HTTP\/1\.1 503 /, answer)
      // The readiness route's own answer, not Fastify's closing 503.
      assert.match(answer, /\r\nx-request-id: \S+\r\n/i, answer)
      assert.match(answer, /"status":"unhealthy"/, answer)
      socket.destroy()
      const { code, ms } = await exitOf(gateway.cli, signalled, 15_000)
      assert.equal(code, 0)
      assert.ok(ms < 10_000, `exited ${ms.toFixed(0)} ms after the signal, with nothing left in flight`)
      assert.match(gateway.cli.stdout(), /shut down cleanly/)
    } finally { await gateway.close() }
  })

  test('a request still in flight at GATEWAY_SHUTDOWN_TIMEOUT (1 s) is cut and the process exits 0 then, not at the upstream timeout', async () => {
    const gateway = await startBuiltGateway({ GATEWAY_AUTH_SERVICE_URL: upstream.url, GATEWAY_SHUTDOWN_TIMEOUT: '1', GATEWAY_HTTP_CLIENT_TIMEOUT: '60' })
    try {
      const seen = upstream.received.length
      const inFlight = rawRequest(gateway.url, '/api/v1/auth/forever').then(
        (response) => `answered ${response.status}`, (error: Error) => `cut: ${error.message}`)
      await eventually(() => upstream.received.length > seen, 5000, 'the request reached the upstream')
      const signalled = performance.now()
      gateway.cli.child.kill('SIGTERM')
      const { code, ms } = await exitOf(gateway.cli, signalled, 15_000)
      assert.equal(code, 0)
      assert.ok(ms >= 900 && ms < 5000, `exited ${ms.toFixed(0)} ms after the signal`)
      assert.match(gateway.cli.stdout(), /drain bound reached/)
      // Cut when the bound struck mid-answer; here the upstream had sent nothing, so the destroyed pool's 503 may still go out.
      assert.match(await inFlight, /^(cut: |answered 503$)/, 'the in-flight request did not complete')
    } finally { await gateway.close() }
  })

  test('a second signal while draining exits at once, with code 1', async () => {
    const gateway = await startBuiltGateway({ GATEWAY_AUTH_SERVICE_URL: upstream.url, GATEWAY_SHUTDOWN_TIMEOUT: '30' })
    try {
      const seen = upstream.received.length
      const inFlight = rawRequest(gateway.url, '/api/v1/auth/forever').catch(() => undefined)
      await eventually(() => upstream.received.length > seen, 5000, 'the request reached the upstream')
      gateway.cli.child.kill('SIGTERM')
      await gateway.cli.waitFor(/shutting down: draining/, 5000)
      const second = performance.now()
      gateway.cli.child.kill('SIGTERM')
      const { code, ms } = await exitOf(gateway.cli, second, 15_000)
      assert.equal(code, 1)
      assert.ok(ms < 2000, `exited ${ms.toFixed(0)} ms after the second signal`)
      assert.match(gateway.cli.stdout(), /second signal: exiting now/)
      await inFlight
    } finally { await gateway.close() }
  })

  test('access lines still buffered for stdout are all written when SIGTERM stops the gateway', async () => {
    const gateway = await startBuiltGateway({ GATEWAY_AUTH_SERVICE_URL: upstream.url, GATEWAY_LOG_LEVEL: 'INFO' })
    try {
      const agent = `buffered-${Date.now()}`
      // Ten lines are less than one batch (16 K characters): they wait in the buffer until a flush.
      for (let i = 0; i < 10; i++) assert.equal((await rawRequest(gateway.url, '/health/live', { headers: { 'user-agent': agent } })).status, 200)
      gateway.cli.child.kill('SIGTERM')
      const { code } = await exitOf(gateway.cli, performance.now(), 15_000)
      assert.equal(code, 0)
      const lines = gateway.cli.stdout().split('\n').filter((line) => line.includes(agent))
      assert.equal(lines.length, 10, 'every access line reached stdout')
      for (const line of lines) assert.equal((JSON.parse(line) as { msg: string }).msg, 'request completed')
    } finally { await gateway.close() }
  })
})
