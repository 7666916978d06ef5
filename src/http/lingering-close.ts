import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyInstance } from 'fastify'

/** How long a client may pause while sending the rest of a refused body (nginx's lingering_timeout). */
const LINGER_IDLE_MS = 5000
/** How long, in all, the rest of a refused body is read and discarded (nginx's lingering_time). */
const LINGER_TOTAL_MS = 30_000

const closing = new WeakSet<Socket>()

/**
 * A connection that answered before reading its request body and is closing: a request pipelined behind the
 * refused body is never served (whatever the body hid is not a request of ours to answer).
 */
export function isClosing (socket: Socket): boolean {
  return closing.has(socket)
}

/** The request declares a body (a length above zero, or chunks) that has not fully arrived yet. */
export function hasUnreadBody (req: IncomingMessage): boolean {
  if (req.complete) return false
  const length = req.headers['content-length']
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')
}

/**
 * Answers that go out before the request body was read (401, 403, 413, 429, ...) must still reach a client
 * that is busy sending that body. Closing at once makes the kernel reset the connection as the client's next
 * bytes arrive, and the reset throws away the answer waiting in the client's receive buffer; clients that only
 * read once they have sent everything (Node's http.request, browsers) then see EPIPE or ECONNRESET instead of
 * the answer. So, as nginx's lingering close does, the answer says `Connection: close`, the gateway half-closes
 * after it, reads and discards the rest of the body for a bounded time and byte count, and only then closes
 * (RFC 9112 §9.6). Call before the answer's head is written.
 */
export function lingerAfterAnswer (req: IncomingMessage, res: ServerResponse, maxDiscardBytes: number): void {
  const socket = req.socket
  if (closing.has(socket)) return
  closing.add(socket)
  res.setHeader('connection', 'close')
  const cut = (): void => { socket.destroy() }
  // A client still sending is given time to reach the end and read the answer, however slow the machine; one
  // that pauses, or sends more than the route would ever have accepted, is cut.
  const idle = setTimeout(cut, LINGER_IDLE_MS)
  const deadline = setTimeout(cut, LINGER_TOTAL_MS)
  idle.unref()
  deadline.unref()
  let discarded = 0
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.length
    if (discarded > maxDiscardBytes) cut()
    else idle.refresh()
  })
  // The body may have been left piped into a limiter that stopped reading it.
  req.resume()
  socket.once('close', () => {
    clearTimeout(idle)
    clearTimeout(deadline)
  })
  res.once('finish', () => {
    // With `Connection: close`, Node ends the socket once the answer is flushed and destroys it at that moment:
    // the end (our FIN) stays, the destroy waits until the client has sent the rest of its body, or gave up.
    socket.removeListener('finish', socket.destroy)
    if (req.complete) {
      cut()
      return
    }
    req.once('end', cut)
    socket.once('end', cut)
  })
}

/**
 * The gateway's own API (Fastify) follows the same rules as the data plane: 100 Continue is sent only once
 * the request was accepted (its onRequest hooks, authentication included, passed), and an answer written
 * before the body was read lingers.
 */
export function registerEarlyAnswers (app: FastifyInstance, maxDiscardBytes: number): void {
  app.addHook('preParsing', (request, reply, payload, done) => {
    const expect = request.headers.expect
    if (expect !== undefined && expect.toLowerCase() === '100-continue' && !reply.raw.headersSent) reply.raw.writeContinue()
    done(null, payload)
  })
  app.addHook('onSend', (request, reply, payload, done) => {
    if (hasUnreadBody(request.raw)) lingerAfterAnswer(request.raw, reply.raw, maxDiscardBytes)
    done(null, payload)
  })
}
