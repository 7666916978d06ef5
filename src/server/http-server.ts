import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import type { FastifyServerFactory } from 'fastify'
import type { Config } from '../config.js'
import type { DataPlane } from '../dataplane/pipeline.js'
import { notFound, type GatewayError } from '../errors.js'
import { isClosing } from '../http/lingering-close.js'
import { writeRefusal, writeRefusalOnSocket } from '../http/refusal.js'
import { requestIdFor } from '../observability/request-id.js'
import { processTime } from '../observability/request-log.js'
import { frontDoorRefusal, type FrontDoorLimits } from './front-door.js'

/** How often Node looks for connections past their headers timeout (its default, 30 s, lets slowloris linger). */
const CONNECTIONS_CHECK_INTERVAL_MS = 1000
/** What a front-door refusal reads of a body it did not want: Fastify's own body limit. */
const FRONT_DOOR_DISCARD_BYTES = 1024 * 1024

/** The roads a request can take once it passed the front door; the data plane is attached once it is built. */
export interface Roads {
  dataPlane?: DataPlane
}

/**
 * The Node server under Fastify, with the limits that protect it from slow or oversized clients: headers
 * must arrive within the headers timeout, the header block is bounded, and so is the number of connections.
 * No whole-request deadline: uploads and streams may rightly take long. Every request passes the front
 * door's checks, then goes to the data plane (proxied prefixes) or to Fastify (the gateway's own API).
 */
export function serverFactory (config: Config, roads: Roads): FastifyServerFactory {
  const limits: FrontDoorLimits = { maxUrlBytes: config.server.maxUrlBytes, maxHeaderCount: config.server.maxHeaderCount }
  return (handler) => {
    const fastify = handler as (req: IncomingMessage, res: ServerResponse) => void
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      // A request pipelined behind a refused body is never served.
      if (isClosing(req.socket)) {
        req.socket.destroy()
        return
      }
      const refusal = frontDoorRefusal(req, limits)
      if (refusal) {
        refuseAtTheDoor(req, res, refusal)
        return
      }
      if (roads.dataPlane?.serve(req, res) !== true) fastify(req, res)
    }
    const server: Server = createServer({
      headersTimeout: config.server.headersTimeoutMs,
      requestTimeout: 0,
      keepAliveTimeout: config.server.keepAliveTimeoutMs,
      connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
      maxHeaderSize: config.server.maxHeaderBytes,
    }, onRequest)
    // One more than the limit is kept, so that a request over it is seen and refused rather than cut.
    server.maxHeadersCount = config.server.maxHeaderCount + 1
    server.maxConnections = config.server.maxConnections
    // With this listener Node no longer answers 100 Continue by itself: the body is asked for only once the
    // request was accepted (RFC 9110 §10.1.1), so a refused upload is never sent.
    server.on('checkContinue', onRequest)
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const started = performance.now()
      socket.on('error', () => socket.destroy())
      const refusal = frontDoorRefusal(req, limits) ?? (roads.dataPlane?.upgrade(req, socket, head) === true ? undefined : notFound())
      if (refusal) {
        writeRefusalOnSocket(socket, refusal.statusCode, refusal.detail, {
          ...refusal.headers, 'X-Request-ID': requestIdFor(req), 'X-Process-Time': processTime(performance.now() - started),
        })
      }
    })
    return server
  }
}

function refuseAtTheDoor (req: IncomingMessage, res: ServerResponse, refusal: GatewayError): void {
  const started = performance.now()
  writeRefusal(req, res, refusal, { 'x-request-id': requestIdFor(req), 'x-process-time': processTime(performance.now() - started) }, FRONT_DOOR_DISCARD_BYTES)
}

const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
}

/** Errors Node raises before any road sees a request (bad framing, oversized or too slow headers), as JSON. */
export function clientErrorHandler (error: Error & { code?: string }, socket: Socket): void {
  const started = performance.now()
  const [status, detail] = CLIENT_ERRORS[error.code ?? ''] ?? [400, 'Bad Request']
  // No request was parsed, so no incoming id to keep: a fresh one, as for an unsafe incoming id.
  writeRefusalOnSocket(socket, status, detail, { 'X-Request-ID': randomUUID(), 'X-Process-Time': processTime(performance.now() - started) })
}
