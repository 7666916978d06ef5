import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { after, before, describe, test } from 'node:test'
import type WebSocket from 'ws'
import { companiesRepository } from '../src/db/companies-repository.js'
import { usersRepository } from '../src/db/users-repository.js'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { postJson as post } from './helpers/http.js'
import { eventually } from './helpers/wait.js'
import { openWebSocket, startWebSocketUpstream, type WebSocketUpstream } from './helpers/ws-upstream.js'

/** Sends a raw upgrade request and returns the status line the gateway answered with. */
async function rawUpgrade (base: string, lines: string[]): Promise<string> {
  const url = new URL(base)
  const socket = connect(Number(url.port), url.hostname)
  let text = ''
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.on('error', () => undefined)
  await new Promise((resolve) => socket.once('connect', resolve))
  socket.write(`${lines.join('\r\n')}\r\n\r\n`)
  await eventually(() => text.includes('\r\n'), 5000, 'an answer to the upgrade')
  socket.destroy()
  return text.slice(0, text.indexOf('\r\n'))
}

const key = (): string => randomBytes(16).toString('base64')
const closeCode = async (socket: WebSocket): Promise<number> => new Promise((resolve) => socket.once('close', (code) => resolve(code)))

describe('hostile WebSocket clients', () => {
  let ws: WebSocketUpstream
  let gateway: TestGateway
  let user: TestUser

  before(async () => {
    ws = await startWebSocketUpstream()
    gateway = await startGateway({
      env: {
        GATEWAY_QUERY_SERVICE_URL: ws.url,
        GATEWAY_AUTH_SERVICE_URL: ws.url,
        GATEWAY_WEBSOCKET_MAX_PER_USER: '3',
        GATEWAY_WEBSOCKET_MAX_PER_COMPANY: '5',
        GATEWAY_RATE_LIMIT_IP_PER_MINUTE: '100000',
        GATEWAY_RATE_LIMIT_USER_PER_MINUTE: '100000',
      },
    })
    user = await gateway.user({ companyId: (await gateway.company()).id })
  })
  after(async () => {
    await gateway.close()
    await ws.close()
  })

  test('500 upgrades that are not valid WebSocket handshakes leave no connection open on the backend, with or without a token', async () => {
    const token = await gateway.tokenFor(user)
    const before = ws.handshakes.length
    const broken: [string, string[]][] = [
      ['400', ['Sec-WebSocket-Version: 13']],
      ['400', ['Sec-WebSocket-Key: not-a-key', 'Sec-WebSocket-Version: 13']],
      ['426', [`Sec-WebSocket-Key: ${key()}`, 'Sec-WebSocket-Version: 8']],
    ]
    const answers: string[] = []
    for (let i = 0; i < 500; i++) {
      const [, extra] = broken[i % broken.length] as [string, string[]]
      const path = i % 5 === 0 ? '/api/v1/auth/ws' : '/api/v1/query/ws'
      answers.push(await rawUpgrade(gateway.url, [`GET ${path} HTTP/1.1`, 'Host: gw', 'Connection: Upgrade', 'Upgrade: websocket', `Authorization: Bearer ${token}`, ...extra]))
    }
    answers.push(await rawUpgrade(gateway.url, ['GET /api/v1/query/ws HTTP/1.1', 'Host: gw', 'Connection: Upgrade', 'Upgrade: h2c', `Authorization: Bearer ${token}`]))
    answers.push(await rawUpgrade(gateway.url, ['POST /api/v1/query/ws HTTP/1.1', 'Host: gw', 'Connection: Upgrade', 'Upgrade: websocket', `Sec-WebSocket-Key: ${key()}`, 'Sec-WebSocket-Version: 13', 'Content-Length: 0']))
    assert.ok(answers.every((line) => /^HTTP\/1\.1 (400|426) /.test(line)), [...new Set(answers)].join(' | '))
    assert.equal(ws.handshakes.length, before, 'nothing was dialled upstream')
    await eventually(() => ws.openConnections === 0, 2000, 'no connection open on the backend')
    const refused = gateway.logs.entries.filter((entry) => entry.msg === 'request completed' && entry.error_code === 'BAD_WEBSOCKET_HANDSHAKE')
    assert.ok(refused.length >= 300, `${refused.length} refused upgrades in the access log`)
  })

  test('open WebSockets are capped per user and per company', async () => {
    const other = await gateway.user({ companyId: user.companyId })
    const tokens = { a: await gateway.tokenFor(await gateway.user({ companyId: user.companyId })), b: await gateway.tokenFor(other) }
    const open = async (token: string): Promise<WebSocket | number> => {
      try {
        return await openWebSocket(gateway.url, '/api/v1/query/ws', { authorization: `Bearer ${token}` })
      } catch (error) { return (error as { status?: number }).status ?? 0 }
    }
    const mine = [await open(tokens.a), await open(tokens.a), await open(tokens.a), await open(tokens.a)]
    assert.equal(mine[3], 429, 'the fourth socket of one user is refused')
    const theirs = [await open(tokens.b), await open(tokens.b), await open(tokens.b)]
    assert.equal(theirs[2], 429, 'the company\'s sixth socket is refused')
    const first = mine[0] as WebSocket
    first.close()
    await closeCode(first)
    const again = await open(tokens.a)
    assert.equal(typeof again, 'object', 'a closed socket frees its place')
    for (const socket of [...mine, ...theirs, again]) if (typeof socket === 'object') socket.close()
  })

  test('a message the backend sends right after the handshake reaches the client (16 of 16 opens)', async () => {
    ws.greeting = 'welcome'
    try {
      const token = await gateway.tokenFor(user)
      for (let i = 0; i < 16; i++) {
        const socket = await openWebSocket(gateway.url, '/api/v1/query/ws', { authorization: `Bearer ${token}` })
        await eventually(() => socket.received.length > 0, 2000, `the greeting of open ${i}`)
        socket.close()
        await closeCode(socket)
        assert.equal(socket.received[0], 'welcome', `open ${i}`)
      }
    } finally { ws.greeting = undefined }
  })

  test('the upgrade\'s request target reaches the backend byte for byte (minus the ticket)', async () => {
    const token = await gateway.tokenFor(user)
    const issued = await (await fetch(`${gateway.url}/api/v1/users/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })).json() as { ticket: string }
    const status = await rawUpgrade(gateway.url, [
      `GET /api/v1/query/ws/a%20b?y=/../..&z=%2F&ticket=${issued.ticket}&q=caf%C3%A9 HTTP/1.1`, 'Host: gw', 'Connection: Upgrade', 'Upgrade: websocket', `Sec-WebSocket-Key: ${key()}`, 'Sec-WebSocket-Version: 13',
    ])
    assert.equal(status, 'HTTP/1.1 101 Switching Protocols')
    assert.equal(ws.handshakes.at(-1)?.url, '/api/v1/ws/a%20b?y=/../..&z=%2F&q=caf%C3%A9')
  })
})

for (const { backend, skip } of await backends()) {
  describe(`an open WebSocket does not outlive what opened it [${backend}]`, { skip }, () => {
    let ws: WebSocketUpstream
    let gateway: TestGateway

    before(async () => {
      ws = await startWebSocketUpstream()
      gateway = await startGateway({ backend, env: { GATEWAY_QUERY_SERVICE_URL: ws.url } })
    })
    after(async () => {
      await gateway.close()
      await ws.close()
    })

    const openAs = async (who: TestUser): Promise<{ socket: WebSocket, token: string }> => {
      const login = await (await post(`${gateway.url}/api/v1/users/login`, { email: who.email, password: who.password })).json() as { access_token: string }
      return { socket: await openWebSocket(gateway.url, '/api/v1/query/ws', { authorization: `Bearer ${login.access_token}` }), token: login.access_token }
    }
    const closesWithin = async (socket: WebSocket, change: () => Promise<unknown>): Promise<void> => {
      const closed = closeCode(socket)
      const started = performance.now()
      await change()
      const code = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(() => resolve(0), 1000))])
      assert.equal(code, 1008, `closed with ${code} after ${(performance.now() - started).toFixed(0)} ms`)
    }

    test('its user is deactivated: closed with 1008 within 1 s', async () => {
      const member = await gateway.user({ companyId: (await gateway.company()).id })
      const { socket } = await openAs(member)
      await closesWithin(socket, async () => usersRepository(gateway.app.gateway.db).setActive(member.id, false))
    })

    test('its user is moved to another company: closed with 1008 within 1 s', async () => {
      const member = await gateway.user({ companyId: (await gateway.company()).id })
      const elsewhere = await gateway.company()
      const { socket } = await openAs(member)
      await closesWithin(socket, async () => usersRepository(gateway.app.gateway.db).setCompany(member.id, elsewhere.id))
    })

    test('its company is deactivated: closed with 1008 within 1 s', async () => {
      const company = await gateway.company()
      const member = await gateway.user({ companyId: company.id })
      const { socket } = await openAs(member)
      await closesWithin(socket, async () => companiesRepository(gateway.app.gateway.db).setActive(company.id, false))
    })

    test('its session logs out: closed with 1008 within 1 s', async () => {
      const member = await gateway.user({ companyId: (await gateway.company()).id })
      const { socket, token } = await openAs(member)
      await closesWithin(socket, async () => post(`${gateway.url}/api/v1/users/logout`, undefined, { authorization: `Bearer ${token}` }))
    })
  })
}
