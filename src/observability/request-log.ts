import type { FastifyInstance, FastifyRequest } from 'fastify'
import pino, { type DestinationStream } from 'pino'
import type { Config } from '../config.js'
import type { ClientAddress } from '../http/client-address.js'
import { LOG_SERVICE, isoTimeByMillisecond } from './logger.js'
import { traceOf, type RequestTracing } from './tracing.js'

/** Which upstream served a request, and how long it took to answer (its response head). */
export interface UpstreamTiming {
  readonly name: string
  readonly latencyMs: number
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The gateway's error code when it refused the request, for the access line. */
    refusalCode: string | undefined
  }
}

export function pathOf (url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

/** The X-Process-Time value for `elapsedMs`. */
export const processTime = (elapsedMs: number): string => `${elapsedMs.toFixed(2)}ms`

/**
 * For the gateway's own API (Fastify): X-Request-ID and X-Process-Time on every response (404s and errors
 * included), one access-log line per request, and the trace's end. The data plane does the same for proxied
 * requests with the same functions.
 */
export function registerRequestObservability (app: FastifyInstance, tracing: RequestTracing, client: ClientAddress, access: AccessLog): void {
  app.decorateRequest('refusalCode', undefined)

  // One onSend hook sets both: it runs for every answer, errors and 404s included (each hook is a per-request cost).
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id)
    reply.header('x-process-time', processTime(reply.elapsedTime))
    done(null, payload)
  })

  const entry = (request: FastifyRequest, status: number, elapsedMs: number | undefined, responseBytes: number | undefined): AccessEntry => ({
    requestId: request.id,
    traceId: traceOf(request.raw)?.traceId,
    method: request.method,
    url: request.url,
    route: request.routeOptions.url ?? 'unmatched',
    status,
    elapsedMs,
    identity: request.identity,
    upstream: null,
    clientIp: client.ip(request.raw),
    userAgent: request.headers['user-agent'],
    requestBytes: declaredLength(request.headers['content-length']),
    responseBytes,
    errorCode: request.refusalCode,
  })

  app.addHook('onRequestAbort', (request, done) => {
    access.write(entry(request, 499, undefined, undefined), CLIENT_GONE_MESSAGE)
    done()
  })

  if (tracing.enabled) {
    app.addHook('onResponse', (request, reply, done) => {
      const trace = traceOf(request.raw)
      if (trace) tracing.end(trace, { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode, upstream: undefined, companyId: request.identity?.companyId })
      done()
    })
  }

  if (!access.enabled) return
  app.addHook('onResponse', (request, reply, done) => {
    const length = reply.getHeader('content-length')
    access.write(entry(request, reply.statusCode, reply.elapsedTime, length === undefined ? undefined : Number(length)))
    done()
  })
}

/** A declared Content-Length as a number (undefined when absent or chunked). */
export function declaredLength (header: string | undefined): number | undefined {
  if (header === undefined) return undefined
  const length = Number(header)
  return Number.isSafeInteger(length) ? length : undefined
}

export const ACCESS_LOG_MESSAGE = 'request completed'
export const CLIENT_GONE_MESSAGE = 'client closed the connection before the response completed'

/** Longest user agent written to the log: the header is the client's to fill. */
const USER_AGENT_CHARS = 256

/** What the access line says of one request, whichever road served it. */
export interface AccessEntry {
  readonly requestId: string
  readonly traceId: string | undefined
  readonly method: string
  /** The request target; its query string is left out of the log (it may carry tickets or tokens). */
  readonly url: string
  /** The route template, never the raw path. */
  readonly route: string
  readonly status: number
  /** Undefined for a request the client abandoned before Fastify's reply existed. */
  readonly elapsedMs: number | undefined
  /** Who made the request, once authenticated. */
  readonly identity: { readonly userId: string, readonly companyId: string | null } | null
  readonly upstream: UpstreamTiming | null
  readonly clientIp: string
  readonly userAgent: string | undefined
  readonly requestBytes: number | undefined
  readonly responseBytes: number | undefined
  /** The gateway's own error code when it refused the request (`INVALID_TOKEN`, `RATE_LIMITED`, ...). */
  readonly errorCode: string | undefined
}

/** How an access line is written: to the log destination, or nowhere when INFO is off. */
export interface AccessLog {
  /** The level is fixed at startup: below INFO the access line is not even built. */
  readonly enabled: boolean
  write (entry: AccessEntry, message?: string): void
}

const LINE_START = '{"level":"info"'
const SERVICE = `,"service":${JSON.stringify(LOG_SERVICE)}`

/** Printable ASCII without the quote and the backslash: a string JSON writes as it is, between quotes. */
const JSON_PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/

/**
 * A string field: JSON-escaped, since most of them are the client's to fill (the path, the user agent, the
 * forwarded address). Most values need no escaping, and testing for that costs a tenth of JSON.stringify.
 */
const text = (name: string, value: string | undefined): string => {
  if (value === undefined) return ''
  return JSON_PLAIN.test(value) ? `,"${name}":"${value}"` : `,"${name}":${JSON.stringify(value)}`
}
const count = (name: string, value: number | undefined): string => value === undefined || !Number.isFinite(value) ? '' : `,"${name}":${value}`
/** Rounded to hundredths of a millisecond, without toFixed (two calls were ~1.1 µs of the line's 5.2 in a micro-benchmark). */
const milliseconds = (name: string, value: number | undefined): string => value === undefined ? '' : count(name, Math.round(value * 100) / 100)

/**
 * The access line: what an operator looks for first (as Kong and Traefik log it), in the shape pino writes
 * every other line (level, time, service, the fields, msg), built as one string with its fields in a fixed
 * order: pino's generic serialiser (asString, _asJson) was 4% of the gateway's CPU under the bench's profiler.
 */
export function accessLine (entry: AccessEntry, message: string = ACCESS_LOG_MESSAGE): string {
  const { identity, upstream, userAgent } = entry
  return LINE_START + isoTimeByMillisecond() + SERVICE +
    text('request_id', entry.requestId) +
    text('trace_id', entry.traceId) +
    text('method', entry.method) +
    text('path', pathOf(entry.url)) +
    text('route', entry.route) +
    count('status', entry.status) +
    milliseconds('duration_ms', entry.elapsedMs) +
    text('client_ip', entry.clientIp) +
    text('user_agent', userAgent === undefined || userAgent.length <= USER_AGENT_CHARS ? userAgent : userAgent.slice(0, USER_AGENT_CHARS)) +
    count('request_bytes', entry.requestBytes) +
    count('response_bytes', entry.responseBytes) +
    text('user_id', identity?.userId) +
    text('company_id', identity?.companyId ?? undefined) +
    text('error_code', entry.errorCode) +
    text('upstream', upstream?.name) +
    milliseconds('upstream_latency_ms', upstream?.latencyMs) +
    `,"msg":${JSON.stringify(message)}}\n`
}

/** The access log on `destination` (the one every other line goes to), written when `level` lets INFO through. */
export function accessLog (level: Config['logLevel'], destination: DestinationStream): AccessLog {
  const enabled = pino.levels.values[level]! <= pino.levels.values.info!
  return {
    enabled,
    write: enabled ? (entry, message) => { destination.write(accessLine(entry, message)) } : () => undefined,
  }
}
