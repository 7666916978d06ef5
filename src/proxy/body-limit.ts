import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { BodyTooLargeError } from './upstream-errors.js'

class ClientAbortedError extends Error {
  override name = 'ClientAbortedError'
  readonly code = 'GATEWAY_CLIENT_ABORTED'
}

/** How long an over-limit body is read and discarded after the 413, so the client can read the answer. */
export const OVERSIZED_BODY_LINGER_MS = 5000

/**
 * Answering 413 and closing while the client is still sending makes the kernel reset the connection, and
 * the client often loses the 413 in that reset. So the rest of the body is read and thrown away (as
 * Node does for a keep-alive request) for a bounded time after the answer, then the connection is cut.
 */
export function discardRestOfBody (request: IncomingMessage, response: ServerResponse): void {
  request.resume()
  response.once('finish', () => {
    if (request.complete) return
    const cut = setTimeout(() => request.socket.destroy(), OVERSIZED_BODY_LINGER_MS)
    cut.unref()
    request.once('end', () => clearTimeout(cut))
    request.once('close', () => clearTimeout(cut))
  })
}

/**
 * The request body as a stream that fails before passing on the byte that crosses `limitBytes`, so the
 * upstream never receives more than the limit of a chunked upload. The client stream is piped, not
 * pipelined: on overflow it stays open so that the 413 can still be written back to it.
 */
export function limitedBody (source: Readable & { complete?: boolean }, limitBytes: number): Readable {
  let received = 0
  const limiter = new Transform({
    transform (chunk: Buffer, _encoding, callback: TransformCallback) {
      received += chunk.length
      if (received > limitBytes) {
        source.unpipe(limiter)
        callback(new BodyTooLargeError(limitBytes))
        return
      }
      callback(null, chunk)
    },
  })
  source.once('close', () => {
    if (source.complete === false && !limiter.destroyed) limiter.destroy(new ClientAbortedError('client aborted the request body'))
  })
  source.once('error', (error) => limiter.destroy(error))
  return source.pipe(limiter)
}
