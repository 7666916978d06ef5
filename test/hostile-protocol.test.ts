import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { SignJWT } from 'jose'
import { signToken, startGateway, TEST_JWT_SECRET, type TestGateway, type TestUser } from './helpers/gateway.js'
import { rawRequest } from './helpers/http.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

/** A raw connection to the gateway that records everything it answers. */
async function rawConnection (base: string): Promise<{ socket: Socket, text: () => string, closed: Promise<void> }> {
  const url = new URL(base)
  const socket = connect(Number(url.port), url.hostname)
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.on('error', () => undefined)
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await new Promise((resolve) => socket.once('connect', resolve))
  return { socket, text: () => text, closed }
}

/** What a WSGI/ASGI server (the platform's FastAPI services) makes of the header names it receives. */
const wsgiName = (name: string): string => `HTTP_${name.toUpperCase().replace(/-/g, '_')}`

describe('hostile requests: slow bodies, header tricks, crafted tokens', () => {
  let upstream: StandInUpstream
  let gateway: TestGateway
  let user: TestUser
  let token: string

  before(async () => {
    upstream = await startUpstream()
    gateway = await startGateway({
      env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_QUERY_SERVICE_URL: upstream.url, GATEWAY_CLIENT_BODY_TIMEOUT: '2', GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '100000' },
    })
    user = await gateway.user({ companyId: (await gateway.company()).id })
    token = await gateway.tokenFor(user)
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
  })

  test('200 slow uploads by one user do not delay another company\'s request (a per-user cap on requests in flight)', async () => {
    const sockets: Socket[] = []
    // Each upload trickles a byte well inside the body timeout, as the attack did: none may be ended by the
    // timeout while 200 connections are still being opened on a loaded machine, so the count below is exact.
    const trickle = setInterval(() => { for (const socket of sockets) socket.write('1\r\nx\r\n') }, 250)
    try {
      const answered: string[] = []
      for (let i = 0; i < 200; i++) {
        const { socket, text } = await rawConnection(gateway.url)
        sockets.push(socket)
        socket.write(`POST /api/v1/ingest/upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n`)
        answered.push('')
        socket.on('data', () => { answered[i] = text().slice(0, 12) })
      }
      await eventually(() => answered.filter((line) => line === 'HTTP/1.1 429').length === 200 - 64, 15_000, `136 uploads refused at once (${JSON.stringify(answered.reduce((m: Record<string, number>, l) => ({ ...m, [l]: (m[l] ?? 0) + 1 }), {}))})`)
      const other = await gateway.user({ companyId: (await gateway.company()).id })
      const started = performance.now()
      const response = await rawRequest(gateway.url, '/api/v1/ingest/status', { headers: { authorization: `Bearer ${await gateway.tokenFor(other)}` } })
      assert.equal(response.status, 200)
      assert.ok(performance.now() - started < 1000, `another company waited ${(performance.now() - started).toFixed(0)} ms`)
      assert.equal(answered.filter((line) => line === '').length, 64, 'the 64 admitted uploads are still open, not timed out')
    } finally {
      clearInterval(trickle)
      for (const socket of sockets) socket.destroy()
    }
  })

  test('an upload that stops sending is ended by the body timeout: 408, and the upstream request aborted', async () => {
    const before = upstream.received.length
    const { socket, text, closed } = await rawConnection(gateway.url)
    socket.write(`POST /api/v1/ingest/stalled HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nContent-Length: 1000\r\n\r\nfirst-bytes`)
    let ended = false
    void closed.then(() => { ended = true })
    await eventually(() => ended, 10_000, 'the stalled upload\'s connection closed by the body timeout')
    assert.match(text(), /^HTTP\/1\.1 408 /)
    await eventually(() => upstream.received.length > before, 3000, 'the upstream saw the request end')
    assert.equal(upstream.last().aborted, true)
  })

  test('underscore spellings and look-alike identity headers never reach the upstream; a WSGI backend sees one X-User-ID, ours', async () => {
    const { socket, text } = await rawConnection(gateway.url)
    const spoofed = ['X_User_ID', 'X_Company_ID', 'X_User_Roles', 'X_User_Email', 'X-Real-IP', 'X-Original-URL', 'X-Rewrite-URL', 'X-Forwarded-Prefix',
      'Remote-User', 'X-Remote-User', 'X-Tenant-ID', 'X-User', 'X-UserId', 'X-Auth-Type', 'X-Atenex-Identity']
    socket.write(`GET /api/v1/ingest/spoof HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n${spoofed.map((name) => `${name}: attacker`).join('\r\n')}\r\n\r\n`)
    await eventually(() => text().includes('\r\n\r\n'), 5000, 'the answer')
    assert.match(text(), /^HTTP\/1\.1 200 /)
    const raw = upstream.last().rawHeaders
    const names = raw.filter((_v, i) => i % 2 === 0)
    assert.ok(!names.some((name) => name.includes('_')), names.join(','))
    // X-Auth-Type and X-Atenex-Identity are the gateway's own: present once, never with the client's value.
    for (const name of spoofed.filter((n) => !n.includes('_'))) {
      const values = raw.filter((_v, i) => i % 2 === 1 && (raw[i - 1] as string).toLowerCase() === name.toLowerCase())
      assert.ok(values.length <= 1 && !values.includes('attacker'), `${name}: ${values.join(',')}`)
    }
    const environ = new Map<string, string[]>()
    for (let i = 0; i < raw.length; i += 2) environ.set(wsgiName(raw[i] as string), [...(environ.get(wsgiName(raw[i] as string)) ?? []), raw[i + 1] as string])
    assert.deepEqual(environ.get('HTTP_X_USER_ID'), [user.id])
    assert.deepEqual(environ.get('HTTP_X_COMPANY_ID'), [user.companyId])
    assert.deepEqual(environ.get('HTTP_X_AUTH_TYPE'), ['user'])
  })

  test('two Host headers, or a Host that is not host[:port], get 400 (RFC 9112 §3.2) and are never forwarded', async () => {
    const before = upstream.received.length
    for (const hosts of [['gw', 'evil.example'], ['127.0.0.1:19002/@evil'], ['gw:99999999'], ['a b']]) {
      const { socket, text } = await rawConnection(gateway.url)
      socket.write(`GET /api/v1/ingest/status HTTP/1.1\r\n${hosts.map((host) => `Host: ${host}`).join('\r\n')}\r\nAuthorization: Bearer ${token}\r\n\r\n`)
      await eventually(() => text().includes('\r\n\r\n'), 5000, 'the answer')
      assert.match(text(), /^HTTP\/1\.1 400 /, hosts.join(' + '))
      assert.ok(text().includes('{"detail":"Invalid Host header."}'))
      socket.destroy()
    }
    assert.equal(upstream.received.length, before)
  })

  test('a request beyond the header count limit is refused with 431, not forwarded without its Content-Length', async () => {
    const before = upstream.received.length
    const { socket, text } = await rawConnection(gateway.url)
    const filler = Array.from({ length: 150 }, (_v, i) => `X-Filler-${i}: x`).join('\r\n')
    socket.write(`POST /api/v1/ingest/upload HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${token}\r\n${filler}\r\nContent-Length: 4\r\n\r\nbody`)
    await eventually(() => text().includes('\r\n\r\n'), 5000, 'the answer')
    assert.match(text(), /^HTTP\/1\.1 431 /)
    assert.equal(upstream.received.length, before)
  })

  test('non-canonical base64url spellings of a valid token are refused (RFC 7515 §2)', async () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const fresh = await gateway.tokenFor(user)
    const last = fresh.at(-1) as string
    // A 32-byte HS256 signature ends in a character with two unused low bits: setting one decodes to the same bytes.
    const sameBytes = fresh.slice(0, -1) + (alphabet[alphabet.indexOf(last) + 1] as string)
    for (const variant of [sameBytes, `${fresh}=`, fresh.replace('.', '=.')]) {
      const response = await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${variant}` } })
      assert.equal(response.status, 401, variant.slice(-6))
    }
    assert.equal((await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${fresh}` } })).status, 200)
  })

  test('a token issued an hour in the future, or living far longer than allowed, is refused', async () => {
    const now = Math.floor(Date.now() / 1000)
    const future = await new SignJWT({ sub: user.id, company_id: user.companyId }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt(now + 3600).setExpirationTime(now + 7200).sign(new TextEncoder().encode(TEST_JWT_SECRET))
    const forever = await signToken({ sub: user.id, company_id: user.companyId }, { expiresIn: 1e20 })
    const noIat = await signToken({ sub: user.id, company_id: user.companyId, exp: now + 10 * 86400 })
    for (const [what, crafted, detail] of [
      ['iat in the future', future, 'Token validation failed: Token issued in the future (iat).'],
      ['exp 1e20', forever, 'Token validation failed: Token lifetime exceeds the allowed maximum.'],
      ['ten days', noIat, 'Token validation failed: Token lifetime exceeds the allowed maximum.'],
    ]) {
      const response = await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${crafted}` } })
      assert.equal(response.status, 401, what)
      assert.deepEqual(await response.json(), { detail }, what)
    }
  })
})

describe('a saturated upstream pool', () => {
  test('a request waiting for a free upstream connection gets 503 after GATEWAY_UPSTREAM_QUEUE_TIMEOUT, not an endless wait', async () => {
    const upstream = await startUpstream()
    const gateway = await startGateway({ env: { GATEWAY_INGEST_SERVICE_URL: upstream.url, GATEWAY_HTTP_CLIENT_MAX_CONNECTIONS: '2', GATEWAY_UPSTREAM_QUEUE_TIMEOUT: '1' } })
    const held: (() => void)[] = []
    upstream.handler = (_req, res) => { held.push(() => res.end('{}')) }
    try {
      const authorization = `Bearer ${await gateway.tokenFor(await gateway.user({ companyId: (await gateway.company()).id }))}`
      const busy = [1, 2].map(async () => rawRequest(gateway.url, '/api/v1/ingest/slow', { headers: { authorization } }))
      await eventually(() => held.length === 2, 5000, 'both pool connections busy')
      const started = performance.now()
      const waited = await rawRequest(gateway.url, '/api/v1/ingest/status', { headers: { authorization } })
      const tookMs = performance.now() - started
      assert.equal(waited.status, 503)
      assert.ok(tookMs >= 900 && tookMs < 3000, `answered after ${tookMs.toFixed(0)} ms`)
      for (const release of held) release()
      assert.deepEqual((await Promise.all(busy)).map((r) => r.status), [200, 200])
    } finally {
      await gateway.close()
      await upstream.close()
    }
  })
})
