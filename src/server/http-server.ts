import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { FastifyServerFactory } from 'fastify'
import type { Config } from '../config.js'
import { writeErrorOnSocket } from '../errors.js'

/** How often Node looks for connections past their headers timeout (its default, 30 s, lets slowloris linger). */
const CONNECTIONS_CHECK_INTERVAL_MS = 1000

/** Requests offered first to a handler beside Fastify (the proxy lane), which returns false for those it leaves. */
export interface FrontDoor {
  take?: (req: IncomingMessage, res: ServerResponse) => boolean
}

/**
 * The Node server under Fastify, with the limits that protect it from slow or oversized clients: headers
 * must arrive within the headers timeout, the header block is bounded, and so is the number of connections.
 * No whole-request deadline: uploads and streams may rightly take long.
 */
export function serverFactory (config: Config, front: FrontDoor): FastifyServerFactory {
  return (handler) => {
    const fastify = handler as (req: IncomingMessage, res: ServerResponse) => void
    const server: Server = createServer({
      headersTimeout: config.server.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: config.server.keepAliveTimeoutMs,
      connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
      maxHeaderSize: config.server.maxHeaderBytes,
    }, (req, res) => {
      if (front.take?.(req, res) !== true) fastify(req, res)
    })
    server.maxConnections = config.server.maxConnections
    return server
  }
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
}

/** Errors Node raises before Fastify sees a request (bad framing, oversized or too slow headers), as JSON. */
export function clientErrorHandler (error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const [status, detail] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'Bad Request']
  writeErrorOnSocket(socket, status, detail)
}
