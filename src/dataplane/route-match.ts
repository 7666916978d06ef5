import type { Upstream, UpstreamPools } from '../upstream/upstream-pools.js'
import type { ProxyRoute } from './route-table.js'

/** Where a request under a proxied prefix goes. One object per route and template, built at startup. */
export interface RouteMatch {
  readonly route: ProxyRoute
  /** The route template (a metrics label, never the raw path): `/api/v1/ingest/*`, or the route's exact path. */
  readonly template: string
  readonly upstream: Upstream
  /** The upstream's origin, for a WebSocket's URL. */
  readonly origin: string
  /** The configured service URL's own path, then the route's upstream path: what replaces the gateway prefix. */
  readonly upstreamPrefix: string
}

type Matcher = (path: string) => RouteMatch | undefined

/**
 * The one route matcher of the data plane, for HTTP requests and WebSocket upgrades alike. Per method: an
 * exact path (an exact route, or a bare prefix) wins over a prefix, and the longest prefix over a shorter one.
 * Paths are matched as received: a percent-encoded prefix is not a prefix (it reaches the gateway's own API,
 * which answers 404).
 */
export class RouteMatcher {
  readonly #byMethod = new Map<string, Matcher>()
  readonly #routes: readonly ProxyRoute[]
  readonly #pools: UpstreamPools

  constructor (routes: readonly ProxyRoute[], pools: UpstreamPools) {
    this.#routes = routes
    this.#pools = pools
  }

  match (method: string, path: string): RouteMatch | undefined {
    let matcher = this.#byMethod.get(method)
    if (!matcher) {
      matcher = this.#compile(method)
      this.#byMethod.set(method, matcher)
    }
    return matcher(path)
  }

  #compile (method: string): Matcher {
    const exact = new Map<string, RouteMatch>()
    const prefixes: { prefix: string, match: RouteMatch }[] = []
    for (const route of this.#routes) {
      if (!route.methods.includes(method as never)) continue
      const upstream = this.#pools.upstreamFor(route.upstreamUrl)
      const upstreamPrefix = upstream.basePath + route.upstreamPath
      const origin = new URL(route.upstreamUrl).origin
      if (!exact.has(route.path)) exact.set(route.path, { route, template: route.path, upstream, origin, upstreamPrefix })
      if (!route.exact) prefixes.push({ prefix: `${route.path}/`, match: { route, template: `${route.path}/*`, upstream, origin, upstreamPrefix } })
    }
    prefixes.sort((x, y) => y.prefix.length - x.prefix.length)
    if (exact.size === 0) return () => undefined
    return (path) => {
      const found = exact.get(path)
      if (found) return found
      for (const { prefix, match } of prefixes) if (path.startsWith(prefix)) return match
      return undefined
    }
  }
}
