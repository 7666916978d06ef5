import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError, type Config } from '../config.js'

export const PROXY_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const

const scopeName = z.string().regex(/^[a-z][a-z0-9-]*:[a-z][a-z0-9-]*$/, 'expected a scope such as ingest:read')

/**
 * One line of the routing table: requests under `path` (or at exactly `path`) go to `upstream`,
 * with `path` replaced by `upstreamPath` and the rest of the URL kept byte for byte.
 */
const routeSchema = z.object({
  name: z.string().min(1),
  path: z.string().regex(/^(\/[A-Za-z0-9._~-]+)+$/, 'expected an absolute path such as /api/v1/ingest'),
  exact: z.boolean().default(false),
  methods: z.array(z.enum(PROXY_METHODS)).min(1).default([...PROXY_METHODS]),
  /** A service name (ingest, query, auth) resolved from the *_SERVICE_URL settings, or a base URL. */
  upstream: z.string().min(1),
  upstreamPath: z.string().regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'expected a path such as /api/v1 (or empty)'),
  auth: z.enum(['strict', 'none']).default('strict'),
  maxBodyBytes: z.number().int().positive().optional(),
  timeoutMs: z.number().int().positive().optional(),
  /** Per-route budgets; routes without them share the GATEWAY_RATE_LIMIT_* ones. */
  userPerMinute: z.number().int().positive().optional(),
  companyPerMinute: z.number().int().positive().optional(),
  maxConcurrentPerCompany: z.number().int().positive().optional(),
  /** When Redis is down: let this route's requests through (true) or refuse them (false); default GATEWAY_RATE_LIMIT_FAIL_OPEN. */
  rateLimitFailOpen: z.boolean().optional(),
  /** The API key scope that opens this route's GET, HEAD and OPTIONS requests, and its other methods; none: no key may. */
  readScope: scopeName.optional(),
  writeScope: scopeName.optional(),
})

export type RouteSpec = z.input<typeof routeSchema>

export interface ProxyRoute {
  readonly name: string
  readonly path: string
  readonly exact: boolean
  readonly methods: readonly (typeof PROXY_METHODS)[number][]
  readonly upstreamUrl: string
  readonly upstreamPath: string
  readonly auth: 'strict' | 'none'
  readonly maxBodyBytes: number
  readonly timeoutMs: number
  readonly userPerMinute: number | undefined
  readonly companyPerMinute: number | undefined
  readonly maxConcurrentPerCompany: number | undefined
  readonly rateLimitFailOpen: boolean | undefined
  /** API key scopes: for reads (GET, HEAD, OPTIONS) and for every other method. */
  readonly readScope: string | undefined
  readonly writeScope: string | undefined
  /** Who the signed identity assertion is for (its `aud`): the upstream service's name (ingest, query, auth), or the route's. */
  readonly audience: string
}

export function defaultRouteSpecs (config: Config): RouteSpec[] {
  return [
    { name: 'ingest', path: '/api/v1/ingest', upstream: 'ingest', upstreamPath: '/api/v1/ingest', maxBodyBytes: config.limits.ingestMaxBodyBytes, readScope: 'ingest:read', writeScope: 'ingest:write' },
    { name: 'query', path: '/api/v1/query', upstream: 'query', upstreamPath: config.queryUpstreamPrefix, readScope: 'query:read', writeScope: 'query:write' },
    // The LLM pipeline can take well over a minute before its first byte, and is what a company's burst must not monopolise.
    {
      name: 'query-ask',
      path: '/api/v1/query/ask',
      exact: true,
      methods: ['POST', 'OPTIONS'],
      upstream: 'query',
      upstreamPath: `${config.queryUpstreamPrefix}/ask`,
      timeoutMs: config.httpClient.askTimeoutMs,
      maxConcurrentPerCompany: config.rateLimits.queryMaxConcurrentPerCompany,
      readScope: 'query:read',
      writeScope: 'query:ask',
    },
    { name: 'documents-stats', path: '/api/v1/documents/stats', exact: true, methods: ['GET', 'HEAD'], upstream: 'ingest', upstreamPath: '/api/v1/ingest/stats', readScope: 'ingest:read' },
    { name: 'auth', path: '/api/v1/auth', upstream: 'auth', upstreamPath: '/api/v1/auth', auth: 'none' },
  ]
}

function resolveUpstream (name: string, config: Config): string | undefined {
  if (name === 'ingest' || name === 'query' || name === 'auth') return config.upstreams[name]
  const parsed = z.url({ protocol: /^https?$/ }).safeParse(name)
  if (!parsed.success) throw new ConfigError(`GATEWAY_ROUTES_FILE: upstream "${name}" is neither ingest, query, auth nor an http(s) URL`)
  return parsed.data.replace(/\/+$/, '')
}

/** Routes whose upstream is not configured (the optional auth service) are left out: they answer 404. */
export function buildRouteTable (specs: RouteSpec[], config: Config): ProxyRoute[] {
  const routes: ProxyRoute[] = []
  for (const [index, spec] of specs.entries()) {
    const parsed = routeSchema.safeParse(spec)
    if (!parsed.success) {
      const issues = parsed.error.issues.map((issue) => `route ${index} ${issue.path.join('.')}: ${issue.message}`)
      throw new ConfigError(`GATEWAY_ROUTES_FILE: ${issues.join('; ')}`)
    }
    const route = parsed.data
    const upstreamUrl = resolveUpstream(route.upstream, config)
    if (upstreamUrl === undefined) continue
    routes.push(Object.freeze({
      name: route.name,
      path: route.path,
      exact: route.exact,
      methods: route.methods,
      upstreamUrl,
      upstreamPath: route.upstreamPath,
      auth: route.auth,
      maxBodyBytes: route.maxBodyBytes ?? config.limits.defaultMaxBodyBytes,
      timeoutMs: route.timeoutMs ?? config.httpClient.timeoutMs,
      userPerMinute: route.userPerMinute,
      companyPerMinute: route.companyPerMinute,
      maxConcurrentPerCompany: route.maxConcurrentPerCompany,
      rateLimitFailOpen: route.rateLimitFailOpen,
      readScope: route.readScope,
      writeScope: route.writeScope,
      audience: ['ingest', 'query', 'auth'].includes(route.upstream) ? route.upstream : route.name,
    }))
  }
  return routes
}

export function loadRouteTable (config: Config): ProxyRoute[] {
  if (config.routesFile === undefined) return buildRouteTable(defaultRouteSpecs(config), config)
  let specs: unknown
  try {
    specs = JSON.parse(readFileSync(config.routesFile, 'utf8'))
  } catch (error) {
    throw new ConfigError(`GATEWAY_ROUTES_FILE: cannot read ${config.routesFile} as JSON (${(error as Error).message})`)
  }
  if (!Array.isArray(specs)) throw new ConfigError('GATEWAY_ROUTES_FILE: expected a JSON array of routes')
  return buildRouteTable(specs as RouteSpec[], config)
}

/** Every scope the route table names: what an API key may be given. */
export function scopesOf (routes: readonly ProxyRoute[]): string[] {
  const scopes = new Set<string>()
  for (const route of routes) for (const scope of [route.readScope, route.writeScope]) if (scope !== undefined) scopes.add(scope)
  return [...scopes].sort()
}
