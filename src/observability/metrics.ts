import cluster from 'node:cluster'
import { createServer, type Server } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { AggregatorRegistry, Counter, Registry, collectDefaultMetrics } from 'prom-client'
import { GatewayError } from '../errors.js'
import type { UpstreamTiming } from './request-log.js'
import { droppedLogLines } from './log-destination.js'
import { SeriesHistogram } from './series-histogram.js'
import { errorResponses } from '../api/error-responses.js'

const AUTH_FAILURES = new Set(['NOT_AUTHENTICATED', 'INVALID_TOKEN', 'BAD_CREDENTIALS', 'COMPANY_REQUIRED', 'FORBIDDEN', 'KEYS_UNAVAILABLE'])
const LATENCY_BUCKETS_SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180]

/**
 * The gateway's Prometheus metrics, in a registry of its own (one per app, so tests can run several).
 * Labels are bounded: the route template (never the raw path), the method, the status, the upstream's name.
 */
export class GatewayMetrics {
  readonly registry = new Registry()
  readonly requests = new SeriesHistogram({
    name: 'gateway_http_request_duration_seconds', help: 'Requests handled by the gateway, by route template, method and status', labelNames: ['route', 'method', 'status'], buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry],
  })

  readonly upstream = new SeriesHistogram({
    name: 'gateway_upstream_response_seconds', help: 'Time to the upstream\'s response headers, by upstream and status', labelNames: ['upstream', 'status'], buckets: LATENCY_BUCKETS_SECONDS, registers: [this.registry],
  })

  readonly upstreamErrors = new Counter({ name: 'gateway_upstream_errors_total', help: 'Upstream failures answered 502/503/504, by upstream and code', labelNames: ['upstream', 'code'], registers: [this.registry] })
  readonly authFailures = new Counter({ name: 'gateway_auth_failures_total', help: 'Refused authentications and authorisations, by reason', labelNames: ['reason'], registers: [this.registry] })
  readonly rateLimited = new Counter({ name: 'gateway_rate_limit_rejections_total', help: 'Requests refused by a rate or concurrency limit, by route', labelNames: ['route'], registers: [this.registry] })

  constructor (userCache: { hits: number, misses: number }) {
    collectDefaultMetrics({ register: this.registry })
    this.countAtScrape('gateway_user_cache_hits_total', 'User status lookups answered from the cache', () => userCache.hits)
    this.countAtScrape('gateway_user_cache_misses_total', 'User status lookups that went to PostgreSQL', () => userCache.misses)
    this.countAtScrape('gateway_log_lines_dropped_total', 'Log lines dropped because stdout could not keep up', () => droppedLogLines.count)
  }

  /** A counter read at scrape time from a tally kept elsewhere: nothing is added to the request path. */
  countAtScrape (name: string, help: string, read: () => number): void {
    const counter = new Counter({ name, help, registers: [this.registry], collect () { this.reset(); this.inc(read()) } })
    void counter
  }

  /** One answered request: its route template (never the raw path), method and status, and the upstream's share. */
  observe (route: string, method: string, status: number, elapsedMs: number, upstream: UpstreamTiming | null): void {
    this.requests.record(elapsedMs / 1000, route, method, status)
    if (upstream) this.upstream.record(upstream.latencyMs / 1000, upstream.name, status)
  }

  /** Tallies of the gateway's own refusals and upstream failures. */
  countError (error: unknown, route: string, upstream: string | undefined): void {
    if (!(error instanceof GatewayError)) return
    if (AUTH_FAILURES.has(error.code)) this.authFailures.inc({ reason: error.code })
    else if (error.code === 'RATE_LIMITED') this.rateLimited.inc({ route })
    else if (error.code.startsWith('UPSTREAM_')) this.upstreamErrors.inc({ upstream: upstream ?? 'unknown', code: error.code })
  }

  /** The same observations for every request Fastify answers. */
  instrument (app: FastifyInstance): void {
    app.addHook('onResponse', (request, reply, done) => {
      this.observe(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime, null)
      done()
    })
    app.addHook('onError', (request, _reply, error, done) => {
      this.countError(error, request.routeOptions.url ?? 'unmatched', undefined)
      done()
    })
  }

  async render (): Promise<{ contentType: string, body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}

function serveMetrics (render: () => Promise<{ contentType: string, body: string }>): Server {
  return createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"detail":"Not Found"}')
      return
    }
    render().then(({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
      () => res.writeHead(500, { 'content-type': 'application/json' }).end('{"detail":"Internal Server Error"}'))
  })
}

/**
 * With --workers and GATEWAY_METRICS_PORT, the cluster primary serves every worker's metrics summed
 * (prom-client's AggregatorRegistry asks each worker over IPC); the workers then serve none themselves.
 */
export function serveClusterMetrics (port: number, host: string): Server {
  const aggregator = new AggregatorRegistry()
  const server = serveMetrics(async () => ({ contentType: aggregator.contentType, body: await aggregator.clusterMetrics() }))
  server.listen(port, host)
  return server
}

/** GET /metrics on the gateway's own port, or on a port of its own (kept off the public listener). */
export async function exposeMetrics (app: FastifyInstance, metrics: GatewayMetrics, separatePort: number | undefined, host: string): Promise<Server | undefined> {
  if (cluster.isWorker) {
    // Constructing one installs prom-client's IPC listener that answers the primary's aggregation requests.
    void new AggregatorRegistry()
    AggregatorRegistry.setRegistries([metrics.registry])
  }
  if (separatePort !== undefined && cluster.isWorker) return undefined
  if (separatePort === undefined) {
    const schema = {
      tags: ['health'],
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      security: [],
      response: { ...errorResponses(), 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    }
    app.get('/metrics', { schema }, async (_request, reply) => {
      const { contentType, body } = await metrics.render()
      return reply.type(contentType).send(body)
    })
    return undefined
  }
  const server = serveMetrics(() => metrics.render())
  await new Promise<void>((resolve) => server.listen(separatePort, host, resolve))
  app.addHook('onClose', async () => { await new Promise((resolve) => server.close(resolve)) })
  return server
}
