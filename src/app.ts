import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Bindings, ChildLoggerOptions, Logger } from 'pino'
import type { DestinationStream } from 'pino'
import type { Config } from './config.js'
import { adminRoutes } from './admin/admin-routes.js'
import { authenticators, type Authenticators } from './auth/authenticate.js'
import './auth/identity.js'
import { resolveJwtSecret } from './auth/jwt-secret.js'
import { warmPasswordHashing } from './auth/passwords.js'
import { RefreshTokens } from './auth/refresh-tokens.js'
import { TokenIssuer } from './auth/token-issuer.js'
import { TokenVerifier } from './auth/token-verifier.js'
import { UserStatusCache } from './auth/user-status-cache.js'
import { userRoutes } from './auth/user-routes.js'
import { WsTickets, wsTicketRoute } from './auth/ws-tickets.js'
import { companiesRepository } from './db/companies-repository.js'
import type { Database } from './db/database.js'
import { bootstrapDemo, type DemoCredentials } from './db/demo-bootstrap.js'
import { migrate } from './db/migrate.js'
import { openDatabase } from './db/open.js'
import { usersRepository } from './db/users-repository.js'
import { registerErrorHandlers } from './errors.js'
import { Health, registerHealthRoutes } from './observability/health.js'
import { startTrace, tracingFor, type RequestTracing } from './observability/tracing.js'
import { exposeMetrics, GatewayMetrics } from './observability/metrics.js'
import { createLogger } from './observability/logger.js'
import { requestIdFor } from './observability/request-id.js'
import { registerRequestObservability } from './observability/request-log.js'
import { acceptAnyBodyUnread, registerProxyRoutes } from './proxy/proxy-routes.js'
import { proxyLane } from './proxy/proxy-lane.js'
import { routeForwarder } from './proxy/route-forwarder.js'
import { loadRouteTable } from './proxy/route-table.js'
import { webSocketUpgradeHandler } from './proxy/websocket.js'
import { UpstreamPools } from './proxy/upstream-pools.js'
import { corsResponseHeaders, registerCors } from './server/cors.js'
import { clientAddress } from './server/client-address.js'
import { clientErrorHandler, serverFactory, type FrontDoor } from './server/http-server.js'
import { limitUrlLength } from './server/request-limits.js'
import { trafficPolicies } from './traffic/policies.js'
import { connectRedis } from './traffic/redis.js'
import type { Redis } from 'ioredis'
import { errorResponses } from './server/error-responses.js'
import { registerOpenApi } from './server/openapi.js'
import { registerValidation } from './server/validation.js'

export interface BuildOptions {
  /** Where log lines go (default stdout); tests pass a sink. */
  readonly logStream?: DestinationStream
  /** An already open database, left open on close; by default the app opens (and closes) its own. */
  readonly database?: Database
  /** Apply pending migrations at startup (default true). */
  readonly migrate?: boolean
  /** On an empty embedded database, create the demo company and admin and hand their credentials here once. */
  readonly onDemoCreated?: (credentials: DemoCredentials) => void
  /** Request tracing; by default the configuration's (OpenTelemetry when an OTLP endpoint is set). */
  readonly tracing?: RequestTracing
  /** Answer steady-state proxied requests beside Fastify (default true); tests turn it off to compare both paths. */
  readonly proxyLane?: boolean
}

export interface GatewayServices {
  readonly config: Config
  readonly db: Database
  readonly health: Health
  readonly pools: UpstreamPools
  readonly tokens: TokenIssuer
  readonly verifier: TokenVerifier
  readonly refreshTokens: RefreshTokens | null
  readonly userCache: UserStatusCache
  readonly auth: Authenticators
  readonly redis: Redis | undefined
  readonly tickets: WsTickets
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: GatewayServices
  }
}

/** Fastify's own options; the Node server's limits and timeouts are in server/http-server.ts. */
function serverOptions (config: Config, tracing: RequestTracing, front: FrontDoor) {
  return {
    genReqId: requestIdFor,
    // The first per-request step Fastify takes: the trace starts here so that every log line carries its id.
    childLoggerFactory (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions, rawReq: IncomingMessage) {
      return logger.child({ ...bindings, trace_id: startTrace(tracing, rawReq).traceId }, options)
    },
    // Our own access log (observability/request-log.ts) replaces Fastify's two lines per request.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    trustProxy: config.server.trustProxy,
    serverFactory: serverFactory(config, front),
    clientErrorHandler,
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
  }
}

async function openServices (app: FastifyInstance, config: Config, options: BuildOptions): Promise<GatewayServices> {
  const db = options.database ?? await openDatabase(config.database, app.log)
  if (options.migrate !== false) {
    const applied = await migrate(db, app.log)
    if (applied.length > 0) app.log.info({ migrations: applied }, 'database migrated')
  }
  if (config.database.kind === 'embedded' && options.onDemoCreated) {
    const demo = await bootstrapDemo(db)
    if (demo) options.onDemoCreated(demo)
  }
  const secret = resolveJwtSecret(config, app.log)
  const tokens = await TokenIssuer.create(config.jwt, secret)
  const verifier = await TokenVerifier.create(config.jwt, secret)
  const refreshTokens = config.refreshTokens.enabled ? new RefreshTokens(db, config.refreshTokens.ttlDays) : null
  refreshTokens?.startCleanup((error) => app.log.warn({ err: error }, 'refresh token cleanup failed'))
  const userCache = new UserStatusCache(usersRepository(db), config.userCacheTtlMs)
  await userCache.subscribe(db)
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, app.log) : undefined
  const health = new Health()
  const pools = new UpstreamPools(config.httpClient)
  health.addCheck('database_connection', () => db.ping())
  health.addCheck('http_client', async () => !pools.closed)
  app.addHook('onClose', async () => {
    refreshTokens?.stopCleanup()
    redis?.disconnect()
    await pools.close()
    if (!options.database) await db.close()
  })
  return { config, db, health, pools, tokens, verifier, refreshTokens, userCache, auth: authenticators(verifier, userCache), redis, tickets: new WsTickets(db) }
}

/** Builds the whole gateway, in the order a request flows through it. Never listens. */
export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  // A bad route table is a configuration error: found before anything is opened.
  const routes = loadRouteTable(config)
  const tracing = options.tracing ?? await tracingFor(config.otel)
  const front: FrontDoor = {}
  const app = Fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    ...serverOptions(config, tracing, front),
    loggerInstance: createLogger(config, options.logStream),
  })

  registerErrorHandlers(app)
  registerValidation(app)
  registerRequestObservability(app, tracing)
  if (!options.tracing) app.addHook('onClose', async () => { await tracing.shutdown() })
  limitUrlLength(app, config.server.maxUrlBytes)
  await registerCors(app, config.corsOrigins)
  await registerOpenApi(app, config, routes)

  const services = await openServices(app, config, options)
  app.decorate('gateway', services)
  const traffic = trafficPolicies(config, services.redis, app.log)
  void warmPasswordHashing()

  const metrics = new GatewayMetrics(services.userCache)
  metrics.instrument(app)
  await exposeMetrics(app, metrics, config.metricsPort, config.host)

  const bannerSchema = {
    tags: ['health'],
    operationId: 'banner',
    summary: 'Service banner',
    security: [],
    response: { ...errorResponses(), 200: { type: 'object', required: ['message'], properties: { message: { type: 'string' } } } },
  }
  app.get('/', { schema: bannerSchema }, async () => ({ message: `${config.projectName} is running!` }))
  registerHealthRoutes(app, services.health, config.projectName)

  await app.register(userRoutes, {
    prefix: '/api/v1/users',
    users: usersRepository(services.db),
    companies: companiesRepository(services.db),
    tokens: services.tokens,
    refreshTokens: services.refreshTokens,
    initialAuth: services.auth.initial,
    defaultCompanyId: config.defaultCompanyId,
    allowSelfRegistration: config.allowSelfRegistration,
    perIpLimit: traffic.perIp,
    loginGuard: traffic.login,
  })
  await app.register(wsTicketRoute, { prefix: '/api/v1/users', tickets: services.tickets, strictAuth: services.auth.strict })
  await app.register(adminRoutes, {
    prefix: '/api/v1/admin',
    users: usersRepository(services.db),
    companies: companiesRepository(services.db),
    adminAuth: services.auth.admin,
  })

  app.server.on('upgrade', webSocketUpgradeHandler({
    routes, auth: services.auth, tickets: services.tickets, connectTimeoutMs: config.httpClient.connectTimeoutMs, log: app.log,
  }))
  const forwarders = routes.map((route) => routeForwarder(route, services.pools))
  await app.register(async (open) => {
    acceptAnyBodyUnread(open)
    open.addHook('onRequest', traffic.perIp)
    registerProxyRoutes(open, forwarders.filter(({ route }) => route.auth === 'none'), () => [])
  })
  await app.register(async (strict) => {
    acceptAnyBodyUnread(strict)
    strict.addHook('onRequest', services.auth.strict)
    registerProxyRoutes(strict, forwarders.filter(({ route }) => route.auth === 'strict'), traffic.proxyHooks)
  })

  if (options.proxyLane !== false) {
    let closing = false
    app.addHook('preClose', (done) => {
      closing = true
      done()
    })
    const lane = proxyLane({
      forwarders,
      limitsFor: ({ route }) => traffic.routeLimits(route),
      cachedIdentity: services.auth.cachedIdentity,
      cors: corsResponseHeaders(config.corsOrigins),
      client: clientAddress(config.server.trustProxy),
      metrics,
      tracing,
      log: app.log as unknown as Logger,
      maxUrlBytes: config.server.maxUrlBytes,
      isClosing: () => closing,
    })
    front.take = lane.take
    metrics.countAtScrape('gateway_proxy_lane_requests_total', 'Proxied requests answered by the proxy lane (token and user already cached), without Fastify', () => lane.taken)
  }

  return app
}
