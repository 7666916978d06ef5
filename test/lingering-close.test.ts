import assert from 'node:assert/strict'
import { connect, type Socket } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'
import { eventually } from './helpers/wait.js'

/** An upload on a raw socket: the answer, and whether (and when) the gateway closed the connection. */
function openUpload (base: string, headers: string): { socket: Socket, text: () => string, closedAt: () => number | undefined } {
  const url = new URL(base)
  // Half-open: the gateway's FIN after its answer must not end our side; only its own close may.
  const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true })
  let text = ''
  let closedAt: number | undefined
  socket.on('data', (chunk: Buffer) => { text += chunk.toString('latin1') })
  socket.on('error', () => undefined)
  socket.once('close', () => { closedAt = performance.now() })
  socket.write(`POST /api/v1/ingest/upload HTTP/1.1\r\nHost: gw\r\n${headers}\r\n`)
  return { socket, text: () => text, closedAt: () => closedAt }
}

describe('lingering close after an early answer (RFC 9112 §9.6, nginx lingering_timeout / lingering_time)', () => {
  let upstream: StandInUpstream
  let gateway: TestGateway

  before(async () => {
    upstream = await startUpstream()
    gateway = await startGateway({ env: { GATEWAY_INGEST_SERVICE_URL: upstream.url } })
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
  })

  test('a client still sending its refused body steadily for longer than 5 s is not cut before it is done', async () => {
    const upload = openUpload(gateway.url, `Authorization: Bearer not-a-token\r\nContent-Length: ${10 * 1024 * 1024}\r\n`)
    await eventually(() => upload.text().includes('\r\n\r\n'), 10_000, 'the 401')
    assert.match(upload.text(), /^HTTP\/1\.1 401 /)
    const chunk = Buffer.alloc(16 * 1024, 'x')
    const started = performance.now()
    // 7 s of steady sending (a slow link): each pause is far inside the 5 s idle bound.
    while (performance.now() - started < 7000 && upload.closedAt() === undefined) {
      upload.socket.write(chunk)
      await sleep(100)
    }
    assert.equal(upload.closedAt(), undefined, `the gateway cut a client that was still sending, after ${((upload.closedAt() ?? 0) - started).toFixed(0)} ms`)
    upload.socket.destroy()
  })

  test('a client that stops sending its refused body is cut after the idle bound, not held open', async () => {
    const upload = openUpload(gateway.url, `Authorization: Bearer not-a-token\r\nContent-Length: ${10 * 1024 * 1024}\r\n`)
    await eventually(() => upload.text().includes('\r\n\r\n'), 10_000, 'the 401')
    upload.socket.write(Buffer.alloc(1024, 'x'))
    // Past the 5 s idle bound the gateway has closed its side: the next bytes are answered with a reset.
    await sleep(6500)
    assert.equal(upload.closedAt(), undefined, 'nothing closed our half-open side by itself')
    await eventually(() => {
      upload.socket.write(Buffer.alloc(1024, 'x'))
      return upload.closedAt() !== undefined
    }, 5000, 'the reset of a connection the gateway closed')
  })
})
