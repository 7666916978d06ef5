import type { FastifyInstance } from 'fastify'
import FindMyWay from 'find-my-way'

export type AllowedMethods = (url: string) => string[]

/**
 * Records the gateway's own routes as they are registered (the proxied prefixes are the data plane's,
 * never Fastify routes), so that a request that found no route can be told apart: a path the gateway
 * serves with other methods gets 405 and `Allow` (RFC 9110 §15.5.6), anything else stays 404. The
 * paths are matched by find-my-way, the router Fastify itself uses, so both agree on what a path is.
 * Must be called before the routes are registered.
 */
export function recordOwnRoutes (app: FastifyInstance): AllowedMethods {
  const router = FindMyWay()
  const methods = new Set<FindMyWay.HTTPMethod>()
  app.addHook('onRoute', (route) => {
    // Catch-alls (CORS preflights on every path) say nothing about which resources exist.
    if (route.url === '*') return
    for (const method of [route.method].flat() as FindMyWay.HTTPMethod[]) {
      router.on(method, route.url, () => undefined)
      methods.add(method)
    }
  })
  return (url) => [...methods].filter((method) => router.find(method, url) !== null).sort()
}
