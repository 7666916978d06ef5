import type { IncomingHttpHeaders, IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import { limitedBody } from './body-limit.js'
import type { OutgoingHeaders } from './forward-headers.js'
import type { UpstreamCall } from './forward.js'
import { upstreamTarget } from './path-safety.js'
import type { ProxyRoute } from './route-table.js'
import type { UpstreamPools } from './upstream-pools.js'

/** What every way of reaching a proxied route shares: where its requests go, and how their bodies are bounded. */
export interface RouteForwarder {
  readonly route: ProxyRoute
  /** The upstream path for a client's request target; throws UNSAFE_PATH for one that escapes the prefix. */
  upstreamPath (rawUrl: string): string
  /** The declared Content-Length is over the route's limit (answered 413 before anything is sent). */
  declaresTooLarge (headers: IncomingHttpHeaders): boolean
  call (req: IncomingMessage, path: string, headers: OutgoingHeaders): UpstreamCall
}

/**
 * The body to stream upstream. A declared Content-Length within the limit (checked before) is enforced by
 * Node's parser, which never reads past it, so the request streams as is; only a chunked body needs the
 * counting limiter (which cost a third of upload throughput when every body went through it).
 */
function bodyOf (req: IncomingMessage, limitBytes: number): Readable | undefined {
  if (req.headers['transfer-encoding'] !== undefined) return limitedBody(req, limitBytes)
  const length = req.headers['content-length']
  return length !== undefined && length !== '0' ? req : undefined
}

export function routeForwarder (route: ProxyRoute, pools: UpstreamPools): RouteForwarder {
  const { pool, basePath } = pools.upstreamFor(route.upstreamUrl)
  const prefix = basePath + route.upstreamPath
  return {
    route,
    upstreamPath: (rawUrl) => upstreamTarget(rawUrl, route.path, route.exact, prefix),
    declaresTooLarge: (headers) => headers['content-length'] !== undefined && Number(headers['content-length']) > route.maxBodyBytes,
    call: (req, path, headers) => ({
      pool,
      method: req.method ?? 'GET',
      path,
      headers,
      body: bodyOf(req, route.maxBodyBytes),
      timeoutMs: route.timeoutMs,
    }),
  }
}
