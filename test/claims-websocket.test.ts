import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import WebSocket from 'ws'
import { backends, createPostgresDatabase, postgresSkip } from './helpers/databases.js'
import { startGateway, type TestGateway, type TestUser } from './helpers/gateway.js'
import { eventually } from './helpers/wait.js'
import { openWebSocket, refusedWith, startWebSocketUpstream, type WebSocketUpstream } from './helpers/ws-upstream.js'

// README, "Traffic protection", WebSockets: relayed message by message; browsers connect with ?ticket=...
// (single use, 30 s, redeemable on any replica; never forwarded).

const ticketFor = async (gateway: TestGateway, token: string): Promise<string> => {
  const issued = await fetch(`${gateway.url}/api/v1/users/ws-ticket`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  assert.equal(issued.status, 200)
  return (await issued.json() as { ticket: string }).ticket
}

/** The next message on `socket`, with its binary flag, bounded. */
const nextMessage = async (socket: WebSocket): Promise<{ data: Buffer, isBinary: boolean }> => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('no message within 5 s')), 5000)
  socket.once('message', (data, isBinary) => { clearTimeout(timer); resolve({ data: data as Buffer, isBinary }) })
})

const closeOf = async (socket: WebSocket): Promise<number> => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('not closed within 5 s')), 5000)
  socket.once('close', (code) => { clearTimeout(timer); resolve(code) })
})

for (const { backend, skip } of await backends()) {
  describe(`WebSocket tickets and messages [${backend}]`, { skip }, () => {
    let upstream: WebSocketUpstream
    let gateway: TestGateway
    let user: TestUser
    let token: string

    before(async () => {
      upstream = await startWebSocketUpstream()
      gateway = await startGateway({ backend, env: { GATEWAY_QUERY_SERVICE_URL: upstream.url } })
      user = await gateway.user({ companyId: (await gateway.company()).id })
      token = await gateway.tokenFor(user)
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    test('a ticket lives 30 s: stored so, and refused once that time has passed, without dialling the upstream', async () => {
      const ticket = await ticketFor(gateway, token)
      // Only the ticket's SHA-256 is stored.
      const hash = createHash('sha256').update(ticket).digest('hex')
      const { rows } = await gateway.app.gateway.db.query<{ seconds: number }>('SELECT EXTRACT(EPOCH FROM expires_at - now())::float AS seconds FROM gateway_ws_tickets WHERE ticket_hash = $1', [hash])
      assert.equal(rows.length, 1)
      assert.ok(Number(rows[0]?.seconds) > 25 && Number(rows[0]?.seconds) <= 30, `the ticket expires in ${rows[0]?.seconds} s`)
      // 31 seconds later, as far as the ticket is concerned.
      await gateway.app.gateway.db.query("UPDATE gateway_ws_tickets SET expires_at = now() - interval '1 second' WHERE ticket_hash = $1", [hash])
      const before = upstream.handshakes.length
      await assert.rejects(openWebSocket(gateway.url, `/api/v1/query/ws?ticket=${ticket}`), refusedWith(401))
      assert.equal(upstream.handshakes.length, before, 'the upstream was never dialled')
      const fresh = await openWebSocket(gateway.url, `/api/v1/query/ws?ticket=${await ticketFor(gateway, token)}`)
      fresh.close()
    })

    test('binary frames are relayed as binary, byte for byte, and text as text', async () => {
      const socket = await openWebSocket(gateway.url, `/api/v1/query/ws?ticket=${await ticketFor(gateway, token)}`)
      try {
        const payload = randomBytes(70_000)
        const echoed = nextMessage(socket)
        socket.send(payload, { binary: true })
        const binary = await echoed
        assert.equal(binary.isBinary, true)
        assert.ok(binary.data.equals(payload), 'the same bytes came back')
        const text = nextMessage(socket)
        socket.send('héllo')
        const answer = await text
        assert.equal(answer.isBinary, false)
        assert.equal(answer.data.toString('utf8'), 'echo:héllo')
      } finally { socket.close() }
    })

    test('messages up to 1 MiB pass; one byte more closes the socket with 1009, and its upstream side too', async () => {
      const socket = await openWebSocket(gateway.url, `/api/v1/query/ws?ticket=${await ticketFor(gateway, token)}`)
      const atCap = Buffer.alloc(1024 * 1024, 7)
      const echoed = nextMessage(socket)
      socket.send(atCap, { binary: true })
      assert.equal((await echoed).data.length, atCap.length)
      const closed = closeOf(socket)
      socket.send(Buffer.alloc(1024 * 1024 + 1, 8), { binary: true })
      assert.equal(await closed, 1009)
      await eventually(() => upstream.openConnections === 0, 5000, 'the upstream side closed too')
    })
  })
}

const noPostgres = await postgresSkip()

describe('a ticket issued by one replica is redeemed by another (one PostgreSQL database)', { skip: noPostgres }, () => {
  let upstream: WebSocketUpstream
  let database: Awaited<ReturnType<typeof createPostgresDatabase>>
  let first: TestGateway
  let second: TestGateway

  before(async () => {
    upstream = await startWebSocketUpstream()
    database = await createPostgresDatabase()
    // Both gateways on the one database the test owns (startGateway's own PostgreSQL databases are one per gateway).
    const env = { ...database.env, GATEWAY_QUERY_SERVICE_URL: upstream.url }
    first = await startGateway({ env })
    second = await startGateway({ env })
  })
  after(async () => {
    await first?.close()
    await second?.close()
    await upstream.close()
    await database.drop()
  })

  test('issued on the first, opened on the second with the identity headers; then spent on both', async () => {
    const user = await first.user({ companyId: (await first.company()).id })
    const ticket = await ticketFor(first, await first.tokenFor(user))
    const socket = await openWebSocket(second.url, `/api/v1/query/ws?ticket=${ticket}`)
    try {
      const handshake = upstream.handshakes.at(-1)
      assert.equal(handshake?.headers['x-user-id'], user.id)
      assert.equal(handshake?.headers['x-company-id'], user.companyId)
      assert.ok(!handshake?.url?.includes('ticket'), 'the ticket is not forwarded')
      const echoed = nextMessage(socket)
      socket.send('across')
      assert.equal((await echoed).data.toString(), 'echo:across')
    } finally { socket.close() }
    await assert.rejects(openWebSocket(first.url, `/api/v1/query/ws?ticket=${ticket}`), refusedWith(401))
    await assert.rejects(openWebSocket(second.url, `/api/v1/query/ws?ticket=${ticket}`), refusedWith(401))
  })
})
