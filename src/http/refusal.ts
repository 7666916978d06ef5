import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Duplex } from 'node:stream'
import type { GatewayError } from '../errors.js'
import { hasUnreadBody, lingerAfterAnswer } from './lingering-close.js'

export type ResponseHeaders = Record<string, string>

/**
 * The one writer of the gateway's refusals outside Fastify: the front door's checks, every step of the data
 * plane, and refused WebSocket upgrades. The wire form is the seeds' `{"detail": ...}`; the error's own headers
 * (WWW-Authenticate, Retry-After, ...) come last, so no other header can replace them. An answer written
 * before the request body was read lingers (see lingering-close.ts), up to `maxDiscardBytes` of that body.
 */
export function writeRefusal (req: IncomingMessage, res: ServerResponse, error: GatewayError, headers: Readonly<ResponseHeaders>, maxDiscardBytes: number): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  if (hasUnreadBody(req)) lingerAfterAnswer(req, res, maxDiscardBytes)
  const body = JSON.stringify({ detail: error.detail })
  res.writeHead(error.statusCode, { ...headers, ...error.headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/**
 * The same answer on a raw socket, where no response object exists: a refused WebSocket upgrade, or a request
 * Node's parser rejected before routing. The connection is closed after it.
 */
export function writeRefusalOnSocket (socket: Duplex, status: number, detail: unknown, headers: Readonly<ResponseHeaders> = {}): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const body = JSON.stringify({ detail })
  const lines = Object.entries({ ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' })
    .map(([name, value]) => `${name}: ${value}`)
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n${lines.join('\r\n')}\r\n\r\n${body}`)
}
