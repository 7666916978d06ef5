import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { BodyTooLargeError } from './upstream-errors.js'

class ClientAbortedError extends Error {
  override name = 'ClientAbortedError'
  readonly code = 'GATEWAY_CLIENT_ABORTED'
}

/**
 * The request body as a stream that fails before passing on the byte that crosses `limitBytes`, so the
 * upstream never receives more than the limit of a chunked upload. The client stream is piped, not
 * pipelined: on overflow it is left open so that the 413 can still be written back to it.
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
