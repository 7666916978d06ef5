import type { IncomingMessage } from 'node:http'
import { Transform, type Readable, type TransformCallback } from 'node:stream'
import { payloadTooLarge } from '../errors.js'
import { BodyTooLargeError } from './body-errors.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

class ClientAbortedError extends Error {
  override name = 'ClientAbortedError'
  readonly code = 'GATEWAY_CLIENT_ABORTED'
}

/**
 * Path safety's neighbour: a declared Content-Length over the route's limit is answered 413 before anything
 * is sent upstream. (A chunked body is counted as it streams: see `requestBody`.)
 */
export const declaredBodyLimit: Step = {
  name: 'declared body limit',
  run (exchange: Exchange) {
    const length = exchange.req.headers['content-length']
    const limit = exchange.match.route.maxBodyBytes
    return length !== undefined && Number(length) > limit ? payloadTooLarge(limit) : undefined
  },
}

/**
 * The request body to stream upstream, or null when there is none. A declared Content-Length within the limit
 * (checked before) is enforced by Node's parser, which never reads past it, so the request streams as is; only
 * a chunked body needs the counting limiter (which cost a third of upload throughput when every body went
 * through it).
 */
export function requestBody (req: IncomingMessage, limitBytes: number): Readable | null {
  if (req.headers['transfer-encoding'] !== undefined) return limitedBody(req, limitBytes)
  const length = req.headers['content-length']
  return length !== undefined && length !== '0' ? req : null
}

/**
 * The request body as a stream that fails before passing on the byte that crosses `limitBytes`, so the
 * upstream never receives more than the limit of a chunked upload. The client stream is piped, not
 * pipelined: on overflow it stays open so that the 413 can still be written back to it.
 */
class BodyLimiter extends Transform {
  /** Body bytes seen so far (the access line's request_bytes). */
  received = 0

  constructor (private readonly source: IncomingMessage, private readonly limitBytes: number) {
    super()
  }

  override _transform (chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.received += chunk.length
    if (this.received > this.limitBytes) {
      this.source.unpipe(this)
      callback(new BodyTooLargeError(this.limitBytes))
      return
    }
    callback(null, chunk)
  }
}

function limitedBody (source: IncomingMessage, limitBytes: number): Readable {
  const limiter = new BodyLimiter(source, limitBytes)
  source.once('close', () => {
    if (!source.complete && !limiter.destroyed) limiter.destroy(new ClientAbortedError('client aborted the request body'))
  })
  source.once('error', (error) => limiter.destroy(error))
  return source.pipe(limiter)
}
