import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import type { Bindings, ChildLoggerOptions, Logger } from 'pino'
import type { DestinationStream } from 'pino'
import { ConfigError, type Config } from './config.js'
import { adminRoutes } from './admin/admin-routes.js'
import { apiKeyRoutes } from './admin/api-key-routes.js'
import { auditRoutes } from './admin/audit-routes.js'
import { AuditLog } from './audit/audit-log.js'
import { auditContext } from './audit/request-context.js'
import { NO_REQUEST } from './audit/events.js'
import { authenticators, type Authenticators } from './auth/authenticate.js'
import type { Identity } from './auth/identity.js'
import { resolveJwtSecret } from './auth/jwt-secret.js'
import { limitConcurrentHashes, warmPasswordHashing } from './auth/passwords.js'
import { NotifiedCache } from './auth/notified-cache.js'
import { ApiKeys, apiKeyHashingKey } from './auth/api-keys.js'
import { loadAssertionKeys, registerJwks, type AssertionKeys } from './auth/assertion-keys.js'
import { AssertionSigner } from './dataplane/identity-assertion.js'
import { Sessions } from './auth/sessions.js'
import { RefreshTokens } from './auth/refresh-tokens.js'
import { TokenIssuer } from './auth/token-issuer.js'
import { TokenVerifier } from './auth/token-verifier.js'
import { userRoutes } from './auth/user-routes.js'
import { WsTickets, wsTicketRoute } from './auth/ws-tickets.js'
import { companiesRepository, type CompanyStatus } from './db/companies-repository.js'
import { COMPANY_CHANGED_CHANNEL } from './db/migrations/006-company-change-notify.js'
import { USER_CHANGED_CHANNEL } from './db/migrations/002-user-change-notify.js'
import type { Database } from './db/database.js'
import { bootstrapDemo, type DemoCredentials } from './auth/demo-admin.js'
import { migrate } from './db/migrate.js'
import { openDatabase } from './db/open.js'
import { usersRepository, type UserStatus } from './db/users-repository.js'
import { registerErrorHandlers } from './api/fastify-errors.js'
import { Health, registerHealthRoutes } from './observability/health.js'
import { startTrace, tracingFor, type RequestTracing } from './observability/tracing.js'
import { exposeMetrics, GatewayMetrics } from './observability/metrics.js'
import { asyncStdout, createLogger } from './observability/logger.js'
import { requestIdFor } from './observability/request-id.js'
import { accessLog, registerRequestObservability } from './observability/request-log.js'
import { dataPlane } from './dataplane/pipeline.js'
import { RouteMatcher } from './dataplane/route-match.js'
import { loadRouteTable, scopesOf } from './dataplane/route-table.js'
import { LiveSockets } from './dataplane/live-sockets.js'
import { UpstreamPools } from './upstream/upstream-pools.js'
import { corsResponseHeaders, registerCors } from './http/cors.js'
import { clientAddress, type ClientAddress } from './http/client-address.js'
import { registerEarlyAnswers } from './http/lingering-close.js'
import { clientErrorHandler, serverFactory, type Roads } from './server/http-server.js'
import { trafficPolicies } from './traffic/policies.js'
import { connectRedis } from './traffic/redis.js'
import type { Redis } from 'ioredis'
import { errorResponses } from './api/error-responses.js'
import { registerOpenApi } from './api/openapi.js'
import { createSso } from './sso/sso-module.js'
import { registerValidation } from './api/validation.js'

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
}

export interface GatewayServices {
  readonly config: Config
  readonly db: Database
  readonly health: Health
  readonly pools: UpstreamPools
  readonly tokens: TokenIssuer
  readonly verifier: TokenVerifier
  readonly refreshTokens: RefreshTokens | null
  readonly userCache: NotifiedCache<UserStatus>
  readonly companyCache: NotifiedCache<CompanyStatus>
  readonly sessions: Sessions
  readonly apiKeys: ApiKeys
  readonly assertionKeys: AssertionKeys
  readonly auth: Authenticators
  readonly redis: Redis | undefined
  readonly tickets: WsTickets
  readonly sockets: LiveSockets
  readonly audit: AuditLog
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: GatewayServices
  }
}

/** The largest body the gateway's own API reads (login, admin): proxied routes have their own limits. */
const API_BODY_LIMIT_BYTES = 1024 * 1024

/** Fastify's own options; the Node server's limits and timeouts are in server/http-server.ts. */
function serverOptions (config: Config, tracing: RequestTracing, roads: Roads, client: ClientAddress) {
  return {
    genReqId: requestIdFor,
    // The first per-request step Fastify takes: the trace starts here so that every log line carries its id.
    childLoggerFactory (logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions, rawReq: IncomingMessage) {
      return logger.child({ ...bindings, trace_id: startTrace(tracing, rawReq).traceId }, options)
    },
    // Our own access log (observability/request-log.ts) replaces Fastify's two lines per request.
    logController: new LogController({ requestIdLogLabel: 'request_id', disableRequestLogging: true }),
    trustProxy: client.trust,
    serverFactory: serverFactory(config, roads),
    clientErrorHandler,
    bodyLimit: API_BODY_LIMIT_BYTES,
    // While draining, a request on a connection still open is answered by its own route: readiness its 503
    // unhealthy body, the rest as usual (the data plane refuses new proxied requests itself). Fastify's own
    // closing 503 is neither the gateway's error shape nor carries X-Request-ID.
    return503OnClosing: false,
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
  const housekeepingFailed = (what: string) => (error: unknown): void => app.log.warn({ err: error }, `${what} cleanup failed`)
  refreshTokens?.startCleanup(housekeepingFailed('refresh token'))
  const users = usersRepository(db)
  const companies = companiesRepository(db)
  const userCache = new NotifiedCache<UserStatus>(async (id) => users.findStatus(id), config.userCacheTtlMs)
  const companyCache = new NotifiedCache<CompanyStatus>(async (id) => companies.findStatus(id), config.userCacheTtlMs)
  // Sessions stay known as long as any token issued under them may live.
  const sessions = new Sessions(db, Math.max(config.jwt.maxLifetimeSeconds, config.refreshTokens.ttlDays * 86_400))
  const audit = new AuditLog(db, config.audit.enabled, (error) => app.log.error({ err: error }, 'audit event not written'))
  const apiKeys = new ApiKeys(db, apiKeyHashingKey(config.apiKeySecret, secret), config.userCacheTtlMs)
  const assertionKeys = await loadAssertionKeys(config.identityAssertion, secret).catch((error: unknown) => {
    throw new ConfigError(`GATEWAY_IDENTITY_SIGNING_KEY: ${(error as Error).message.replace(/^GATEWAY_IDENTITY_SIGNING_KEY: /, '')}`)
  })
  await Promise.all([userCache.subscribe(db, USER_CHANGED_CHANNEL), companyCache.subscribe(db, COMPANY_CHANGED_CHANNEL), sessions.subscribe(), apiKeys.subscribe()])
  // Once per key and UTC day, from the batched flush: the data plane itself never writes an audit row.
  apiKeys.onFirstUseToday(async (uses) => audit.record(NO_REQUEST, ...uses.map((use) => ({
    type: 'api_key.used' as const, actor: { type: 'api_key' as const, id: use.id }, companyId: use.companyId, target: { type: 'api_key', id: use.id }, details: { first_used_at: use.at.toISOString() },
  }))))
  apiKeys.startFlushing(housekeepingFailed('API key last_used_at'))
  sessions.startHousekeeping(housekeepingFailed('session'))
  audit.startPruning(config.audit.retentionDays, housekeepingFailed('audit retention'))
  const tickets = new WsTickets(db)
  tickets.startSweeping(housekeepingFailed('WebSocket ticket'))
  limitConcurrentHashes(config.rateLimits.loginMaxConcurrentHashes)
  const redis = config.redisUrl ? await connectRedis(config.redisUrl, app.log) : undefined
  const health = new Health()
  const pools = new UpstreamPools(config.httpClient)
  health.addCheck('database_connection', () => db.ping())
  health.addCheck('http_client', async () => !pools.closed)
  app.addHook('onClose', async () => {
    refreshTokens?.stopCleanup()
    sessions.stopHousekeeping()
    audit.stopPruning()
    tickets.stopSweeping()
    await apiKeys.stopFlushing().catch(housekeepingFailed('API key last_used_at'))
    redis?.disconnect()
    await pools.close()
    if (!options.database) await db.close()
  })
  const auth = authenticators({
    tokens: verifier,
    apiKeys,
    users: userCache,
    companies: companyCache,
    sessions,
    onAdminDenied: async (request, identity) => audit.record(auditContext(request), {
      type: 'admin.denied', actor: { type: 'user', id: identity.userId }, companyId: identity.companyId, details: { method: request.method, route: request.routeOptions.url ?? request.url },
    }),
  })
  return { config, db, health, pools, tokens, verifier, refreshTokens, userCache, companyCache, sessions, apiKeys, assertionKeys, auth, redis, tickets, sockets: new LiveSockets(), audit }
}

/** Builds the whole gateway, in the order a request flows through it. Never listens. */
export async function buildApp (config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  // A bad route table is a configuration error: found before anything is opened.
  const routes = loadRouteTable(config)
  const tracing = options.tracing ?? await tracingFor(config.otel)
  const client = clientAddress(config.server.trustProxy)
  const roads: Roads = {}
  const logDestination = options.logStream ?? asyncStdout()
  const access = accessLog(config.logLevel, logDestination)
  const app = Fastify<Server, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    ...serverOptions(config, tracing, roads, client),
    loggerInstance: createLogger(config, logDestination),
  })

  registerErrorHandlers(app)
  registerValidation(app)
  registerRequestObservability(app, tracing, client, access)
  registerEarlyAnswers(app, API_BODY_LIMIT_BYTES)
  if (!options.tracing) app.addHook('onClose', async () => { await tracing.shutdown() })
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
  registerJwks(app, services.assertionKeys)

  const sso = createSso(config, services, app.log)
  await app.register(userRoutes, {
    prefix: '/api/v1/users',
    users: usersRepository(services.db),
    companies: companiesRepository(services.db),
    companyStatus: async (companyId: string) => services.companyCache.get(companyId),
    tokens: services.tokens,
    sessions: services.sessions,
    refreshTokens: services.refreshTokens,
    initialAuth: services.auth.initial,
    bearer: async (authorization: string | undefined) => services.auth.identify({ authorization }, false),
    defaultCompanyId: config.defaultCompanyId,
    allowSelfRegistration: config.allowSelfRegistration,
    perIpLimit: traffic.perIp,
    loginGuard: traffic.login,
    passwordLoginAllowed: sso.passwordLoginAllowed,
    refreshCheck: sso.checkRefresh,
    audit: services.audit,
    forgetUser: (userId: string) => services.userCache.invalidate(userId),
  })
  await sso.register(app, { perIpLimit: traffic.perIp, adminAuth: services.auth.admin })
  await app.register(wsTicketRoute, { prefix: '/api/v1/users', tickets: services.tickets, strictAuth: services.auth.strict, userLimit: traffic.perUser })
  await app.register(adminRoutes, {
    prefix: '/api/v1/admin',
    users: usersRepository(services.db),
    companies: companiesRepository(services.db),
    sessions: services.sessions,
    adminAuth: services.auth.admin,
    audit: services.audit,
    forgetUser: (userId: string) => services.userCache.invalidate(userId),
  })
  await app.register(apiKeyRoutes, {
    prefix: '/api/v1/admin',
    apiKeys: services.apiKeys,
    companies: companiesRepository(services.db),
    adminAuth: services.auth.admin,
    scopes: scopesOf(routes),
    audit: services.audit,
  })
  await app.register(auditRoutes, { prefix: '/api/v1/admin', db: services.db, adminAuth: services.auth.admin })
  closeSocketsOnPolicyChange(services)

  // Proxied prefixes never reach Fastify: the data plane answers them beside it, with the same policies.
  let closing = false
  app.addHook('preClose', (done) => {
    closing = true
    done()
  })
  roads.dataPlane = dataPlane({
    routes: new RouteMatcher(routes, services.pools),
    context: {
      log: app.log as unknown as Logger,
      access,
      metrics,
      tracing,
      client,
      cors: corsResponseHeaders(config.corsOrigins),
    },
    auth: services.auth,
    tickets: services.tickets,
    traffic,
    forward: { bodyTimeoutMs: config.server.clientBodyTimeoutMs, queueTimeoutMs: config.httpClient.queueTimeoutMs },
    relay: { connectTimeoutMs: config.httpClient.connectTimeoutMs, maxMessageBytes: WEBSOCKET_MAX_MESSAGE_BYTES },
    sockets: services.sockets,
    assertions: config.identityAssertion.enabled
      ? new AssertionSigner({ keys: services.assertionKeys, issuer: config.identityAssertion.issuer, lifetimeSeconds: config.identityAssertion.lifetimeSeconds })
      : null,
    isDraining: () => closing || services.health.draining,
  })

  return app
}

/**
 * An open WebSocket lives no longer than what opened it: when its user, company or session changes (NOTIFY, on
 * every replica), its identity is checked again and the socket closed with 1008 if it no longer holds.
 */
function closeSocketsOnPolicyChange (services: GatewayServices): void {
  const { sockets, auth } = services
  const recheck = (matches: (identity: Identity) => boolean): void => {
    sockets.recheck(matches, auth.recheck)
  }
  services.userCache.onInvalidate((userId) => recheck((identity) => userId === null || identity.userId === userId))
  services.companyCache.onInvalidate((companyId) => recheck((identity) => companyId === null || identity.companyId === companyId))
  services.sessions.onRevoke((sessionId) => recheck((identity) => identity.sessionId === sessionId))
  services.apiKeys.records.onInvalidate((keyId) => recheck((identity) => identity.authType === 'api_key' && (keyId === null || identity.userId === keyId)))
}

/** The largest WebSocket message relayed either way. */
const WEBSOCKET_MAX_MESSAGE_BYTES = 1024 * 1024
