import { readFileSync, existsSync } from 'node:fs'
import { parse as parseDotenv } from 'dotenv'
import proxyAddr from '@fastify/proxy-addr'
import { z } from 'zod'
import { parseExternalIssuers, type ExternalIssuer } from './config-issuers.js'
import { weakSecretReason } from './config-secrets.js'

/** The seeds' log level names, mapped to pino's. */
const LOG_LEVELS = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'fatal' } as const

export const DEFAULT_INGEST_SERVICE_URL = 'http://ingest-api-service.nyro-develop.svc.cluster.local:80'
export const DEFAULT_QUERY_SERVICE_URL = 'http://query-service.nyro-develop.svc.cluster.local:80'
const MIB = 1024 * 1024

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type { ExternalIssuer }

const booleanFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'expected true or false' })
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value))

const urlFromEnv = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
  .transform((value) => value.replace(/\/+$/, ''))

/** Which proxies in front of the gateway are trusted: none, the nearest N hops, or these addresses and ranges. */
export type TrustedProxies = false | number | readonly string[]

const trustedProxies = z.string().transform((value, context): TrustedProxies => {
  const lower = value.trim().toLowerCase()
  if (['false', '0', 'no', 'off'].includes(lower)) return false
  if (['true', 'yes', 'on'].includes(lower)) return 1
  if (/^[1-9][0-9]?$/.test(lower)) return Number(lower)
  const list = lower.split(',').map((entry) => entry.trim()).filter(Boolean)
  try {
    proxyAddr.compile([...list])
  } catch {
    context.addIssue({ code: 'custom', message: 'expected false, true, a hop count, or addresses/CIDR ranges (loopback, linklocal, uniquelocal allowed)' })
  }
  return list
})

const positiveInt = z.coerce.number({ error: 'expected a number' }).int('expected a whole number').positive('expected a positive number')
const nonNegativeInt = z.coerce.number({ error: 'expected a number' }).int('expected a whole number').min(0, 'expected zero or more')

const originList = z.string().transform((value) => value.split(',').map((origin) => origin.trim()).filter(Boolean))
  .pipe(z.array(z.url({ error: 'expected a comma-separated list of origins such as https://app.example.com' })))

/**
 * The one schema of the gateway's settings. Keys are the environment variable names (upper-cased);
 * each entry documents its default and unit. The README's configuration table is generated from it.
 */
export const settingsSchema = z.object({
  PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).default(8080)
    .describe('TCP port the gateway listens on (no prefix, as in the seeds).'),
  GATEWAY_HOST: z.string().min(1).default('0.0.0.0').describe('Interface the gateway binds to.'),
  GATEWAY_PROJECT_NAME: z.string().min(1).default('Atenex API Gateway').describe('Name shown by GET / and /health.'),
  GATEWAY_LOG_LEVEL: z.string().transform((value) => value.toUpperCase())
    .pipe(z.enum(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'], { error: 'expected one of DEBUG, INFO, WARNING, ERROR, CRITICAL' }))
    .default('INFO').describe('Log level: DEBUG, INFO, WARNING, ERROR or CRITICAL.'),

  GATEWAY_INGEST_SERVICE_URL: urlFromEnv.default(DEFAULT_INGEST_SERVICE_URL).describe('Base URL of the ingest service.'),
  GATEWAY_QUERY_SERVICE_URL: urlFromEnv.default(DEFAULT_QUERY_SERVICE_URL).describe('Base URL of the query service.'),
  GATEWAY_AUTH_SERVICE_URL: urlFromEnv.optional().describe('Base URL of the optional auth service; /api/v1/auth/* answers 404 when unset.'),
  GATEWAY_QUERY_UPSTREAM_PREFIX: z.string().regex(/^(\/[A-Za-z0-9._~-]+)*$/, 'expected a path such as /api/v1').default('/api/v1')
    .describe('Path prefix the query service serves under; /api/v1/query/x is sent as <prefix>/x.'),
  GATEWAY_ROUTES_FILE: z.string().min(1).optional().describe('JSON file that overrides the default route table.'),

  GATEWAY_HTTP_CLIENT_TIMEOUT: positiveInt.default(60).describe('Seconds to wait for upstream response headers, and between body chunks.'),
  GATEWAY_HTTP_CLIENT_CONNECT_TIMEOUT: positiveInt.default(10).describe('Seconds to wait for an upstream TCP/TLS connection.'),
  GATEWAY_QUERY_ASK_TIMEOUT: positiveInt.default(180).describe('Seconds the LLM route POST /api/v1/query/ask may take before its headers.'),
  GATEWAY_HTTP_CLIENT_MAX_CONNECTIONS: positiveInt.default(200).describe('Maximum connections per upstream.'),
  GATEWAY_HTTP_CLIENT_MAX_KEEPALIVE_CONNECTIONS: positiveInt.default(100)
    .describe('Accepted for compatibility with the seeds (also as the misspelt ..._MAX_KEEPALIAS_CONNECTIONS); undici has no idle-connection cap, it closes idle connections after GATEWAY_HTTP_CLIENT_KEEPALIVE_TIMEOUT.'),
  GATEWAY_HTTP_CLIENT_KEEPALIVE_TIMEOUT: positiveInt.default(30).describe('Seconds an idle upstream connection is kept open.'),
  GATEWAY_INGEST_MAX_BODY_BYTES: positiveInt.default(100 * MIB).describe('Largest request body accepted on /api/v1/ingest, in bytes.'),
  GATEWAY_MAX_BODY_BYTES: positiveInt.default(1 * MIB).describe('Largest request body accepted on other proxied routes, in bytes.'),
  GATEWAY_TRUST_PROXY: trustedProxies.default(false)
    .describe('Proxies in front whose X-Forwarded-* are trusted: false, true (= 1), a hop count, or addresses/CIDRs (e.g. 10.0.0.0/8,loopback). The client is the rightmost X-Forwarded-For entry not added by a trusted proxy.'),
  GATEWAY_KEEP_ALIVE_TIMEOUT: positiveInt.default(75).describe('Seconds an idle client connection is kept open (above load-balancer idle timeouts).'),
  GATEWAY_HEADERS_TIMEOUT: positiveInt.default(15).describe('Seconds a client may take to send its request headers.'),
  GATEWAY_SHUTDOWN_TIMEOUT: positiveInt.default(25).describe('Seconds to drain in-flight requests on SIGTERM before exiting.'),

  GATEWAY_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional()
    .describe('Redis shared by the replicas for rate limits; unset keeps the limits in each process\'s memory.'),
  GATEWAY_RATE_LIMIT_USER_PER_MINUTE: positiveInt.default(600).describe('Requests per minute one user may make on proxied routes.'),
  GATEWAY_RATE_LIMIT_COMPANY_PER_MINUTE: positiveInt.default(3000).describe('Requests per minute one company may make on proxied routes.'),
  GATEWAY_RATE_LIMIT_IP_PER_MINUTE: positiveInt.default(120).describe('Requests per minute one IP may make on unauthenticated routes (login, refresh, auth service).'),
  GATEWAY_LOGIN_MAX_FAILURES: positiveInt.default(10).describe('Failed logins per email and IP before 429.'),
  GATEWAY_LOGIN_MAX_FAILURES_PER_ACCOUNT: positiveInt.default(25).describe('Failed logins per email from any addresses before 429, so that rotating addresses does not reset the count.'),
  GATEWAY_LOGIN_MAX_CONCURRENT_HASHES: positiveInt.max(64).default(2).describe('Password hashes (bcrypt) computed at once; more wait, and beyond a short queue get 503, so logins never take the whole thread pool.'),
  GATEWAY_LOGIN_FAILURE_WINDOW_MINUTES: positiveInt.default(15).describe('Window of GATEWAY_LOGIN_MAX_FAILURES, in minutes.'),
  GATEWAY_RATE_LIMIT_FAIL_OPEN: booleanFromEnv.default(true)
    .describe('When Redis is unreachable, let proxied requests through (true) or refuse them with 503 (false); login limits always fail closed.'),
  GATEWAY_QUERY_MAX_CONCURRENT_PER_COMPANY: positiveInt.default(20).describe('POST /api/v1/query/ask (the LLM route) requests one company may have in flight per replica; more get 429 at once. Other routes set their own cap with maxConcurrentPerCompany in the route table.'),
  GATEWAY_MAX_IN_FLIGHT_PER_USER: positiveInt.default(64).describe('Proxied requests one user or API key may have in flight per replica, so that nobody takes a whole upstream pool; more get 429 at once.'),
  GATEWAY_WEBSOCKET_MAX_PER_USER: positiveInt.default(16).describe('Open WebSockets one user or API key may hold per replica.'),
  GATEWAY_WEBSOCKET_MAX_PER_COMPANY: positiveInt.default(256).describe('Open WebSockets one company may hold per replica.'),
  GATEWAY_MAX_URL_BYTES: positiveInt.default(8192).describe('Longest request target accepted (414 beyond).'),
  GATEWAY_MAX_HEADER_BYTES: positiveInt.default(16384).describe('Largest request header block accepted (431 beyond).'),
  GATEWAY_MAX_HEADER_COUNT: positiveInt.max(10_000).default(100).describe('Most request header fields accepted (431 beyond; never silently dropped).'),
  GATEWAY_CLIENT_BODY_TIMEOUT: positiveInt.default(60).describe('Seconds a client may pause while sending a request body before 408 (nginx client_body_timeout).'),
  GATEWAY_UPSTREAM_QUEUE_TIMEOUT: positiveInt.default(10).describe('Seconds a request may wait for a free upstream connection before 503.'),
  GATEWAY_MAX_CONNECTIONS: positiveInt.default(10000).describe('Client connections accepted at once per process.'),
  GATEWAY_METRICS_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(0).max(65535).optional()
    .describe('Serve /metrics on this port instead of the main one (keeps it off the public listener).'),
  GATEWAY_WORKERS: z.string().regex(/^(auto|[1-9][0-9]*)$/, 'expected a number of workers or auto').default('1')
    .describe('Worker processes (node:cluster); auto = one per CPU. More than one needs PostgreSQL (GATEWAY_POSTGRES_SERVER).'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional()
    .describe('OpenTelemetry collector (OTLP/HTTP); setting it turns tracing on. Standard name, no prefix.'),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional().describe('Full OTLP/HTTP traces URL, overriding the one derived from OTEL_EXPORTER_OTLP_ENDPOINT.'),
  OTEL_SERVICE_NAME: z.string().min(1).default('atenex-gateway').describe('service.name of the gateway\'s spans.'),
  OTEL_SDK_DISABLED: booleanFromEnv.default(false).describe('Turn tracing off even with an endpoint set.'),
  GATEWAY_CORS_ORIGINS: originList.default([]).describe('Extra allowed CORS origins, comma-separated.'),
  VERCEL_FRONTEND_URL: urlFromEnv.optional().describe('Allowed CORS origin of the production frontend (no prefix, as in the seeds).'),
  NGROK_URL: z.url({ protocol: /^https$/, hostname: /ngrok/, error: 'expected an https:// URL on an ngrok host' })
    .transform((value) => value.replace(/\/+$/, '')).optional().describe('Allowed CORS origin of an ngrok tunnel (no prefix).'),

  GATEWAY_JWT_SECRET: z.string().optional().describe('HMAC secret for the gateway\'s tokens, at least 32 bytes. Generated (with a warning) only on the embedded database.'),
  GATEWAY_JWT_ALGORITHM: z.enum(['HS256', 'HS384', 'HS512'], { error: 'expected HS256, HS384 or HS512' }).default('HS256')
    .describe('Algorithm of the gateway\'s own tokens.'),
  GATEWAY_JWT_AUDIENCE: z.string().min(1).optional().describe('Required `aud` of accepted tokens (e.g. authenticated for Supabase); tokens with an aud are refused when unset.'),
  GATEWAY_JWT_ISSUER: z.string().min(1).optional().describe('Required `iss` of accepted tokens, and the `iss` of issued ones.'),
  GATEWAY_JWT_CLOCK_TOLERANCE: nonNegativeInt.max(300).default(30).describe('Seconds of clock skew tolerated on exp/nbf/iat.'),
  GATEWAY_JWT_EXPIRATION_MINUTES: positiveInt.default(1440)
    .describe('Lifetime of issued access tokens, in minutes: the seeds\' 24 h, which the web client relies on (it never refreshes). Logout and admin revocation still end them at once; clients using refresh tokens may ask for shorter ones.'),
  GATEWAY_JWT_MAX_LIFETIME_MINUTES: positiveInt.optional()
    .describe('Longest lifetime (exp - iat) accepted in a token, ours or an external issuer\'s; default the larger of 1440 and GATEWAY_JWT_EXPIRATION_MINUTES.'),
  GATEWAY_REFRESH_TOKENS: booleanFromEnv.default(true).describe('Issue rotating refresh tokens at login (POST /api/v1/users/refresh, /logout).'),
  GATEWAY_REFRESH_TOKEN_TTL_DAYS: positiveInt.max(365).default(30).describe('Lifetime of a refresh token, in days.'),
  GATEWAY_AUDIT: booleanFromEnv.default(true).describe('Write the audit trail (GET /api/v1/admin/audit). Off only to measure what it costs.'),
  GATEWAY_AUDIT_RETENTION_DAYS: positiveInt.max(36_500).default(365).describe('Audit events older than this many days are deleted (hourly, oldest first; every replica may run it, the delete is idempotent).'),
  GATEWAY_EXTERNAL_ISSUERS: z.string().optional()
    .describe('JSON array of external token issuers (e.g. Supabase): see "External issuers" below.'),
  GATEWAY_API_KEY_SECRET: z.string().optional()
    .describe('Key of the HMAC that stores API key secrets (at least 32 random bytes); default: derived from GATEWAY_JWT_SECRET, so rotating that one invalidates every API key.'),
  GATEWAY_IDENTITY_ASSERTION: booleanFromEnv.default(true)
    .describe('Send X-Atenex-Identity, a short-lived signed JWT of the caller\'s identity, with every proxied request (keys at /.well-known/jwks.json).'),
  GATEWAY_IDENTITY_ISSUER: z.string().min(1).default('atenex-gateway').describe('The `iss` of X-Atenex-Identity assertions.'),
  GATEWAY_IDENTITY_ASSERTION_SECONDS: positiveInt.min(10).max(3600).default(60).describe('Lifetime of an X-Atenex-Identity assertion; one is reused while more than half of it is left.'),
  GATEWAY_IDENTITY_SIGNING_KEY: z.string().optional()
    .describe('PKCS #8 PEM private key (Ed25519 or P-256) signing X-Atenex-Identity; default: an Ed25519 key derived from GATEWAY_JWT_SECRET, the same on every replica.'),
  GATEWAY_IDENTITY_SIGNING_KEY_FILE: z.string().min(1).optional().describe('File holding GATEWAY_IDENTITY_SIGNING_KEY instead (a mounted Secret).'),
  GATEWAY_IDENTITY_PREVIOUS_KEYS: z.string().optional()
    .describe('PEM public keys of earlier signing keys, still published at /.well-known/jwks.json while their assertions may be in flight (key rotation).'),
  GATEWAY_USER_CACHE_TTL: nonNegativeInt.default(30).describe('Seconds a user\'s status is cached between database checks (NOTIFY invalidates sooner).'),

  GATEWAY_POSTGRES_SERVER: z.string().min(1).optional().describe('PostgreSQL host; unset runs on the embedded PGlite database.'),
  GATEWAY_POSTGRES_PORT: z.coerce.number({ error: 'expected a port number' }).int().min(1).max(65535).default(5432).describe('PostgreSQL port.'),
  GATEWAY_POSTGRES_USER: z.string().min(1).default('postgres').describe('PostgreSQL user.'),
  GATEWAY_POSTGRES_PASSWORD: z.string().optional().describe('PostgreSQL password (never logged).'),
  GATEWAY_POSTGRES_DB: z.string().min(1).default('atenex').describe('PostgreSQL database.'),
  GATEWAY_POSTGRES_POOL_SIZE: positiveInt.default(10).describe('Maximum PostgreSQL connections.'),
  GATEWAY_DATA_DIR: z.string().min(1).default('.data/pglite').describe('Folder of the embedded database; `memory://` keeps it in memory.'),
  GATEWAY_DEFAULT_COMPANY_ID: z.uuid({ error: 'expected a UUID' }).optional().describe('Company given to users who have none (ensure-company, self-registration).'),
  GATEWAY_ALLOW_SELF_REGISTRATION: booleanFromEnv.default(false).describe('Enable POST /api/v1/users/register.'),

  GATEWAY_PUBLIC_URL: urlFromEnv.optional()
    .describe('The gateway\'s external URL as browsers reach it (e.g. https://api.example.com); single sign-on\'s redirect URI is <this>/api/v1/users/sso/callback.'),
  GATEWAY_SSO_FRONTEND_URL: urlFromEnv.optional()
    .describe('Frontend page where single sign-on ends, with ?code= or ?error=; setting it turns SSO on. Its origin must be an allowed CORS origin.'),
  GATEWAY_SSO_ENCRYPTION_KEY: z.string().refine((value) => ssoKeyBytes(value) !== undefined, 'expected 32 random bytes, base64 or hex (openssl rand -base64 32)').optional()
    .describe('Key (32 bytes, base64 or hex) that encrypts the identity providers\' client secrets (AES-256-GCM). Generated only on the embedded database.'),
  GATEWAY_SSO_ALLOW_HTTP_ISSUERS: booleanFromEnv.default(false).describe('Accept http:// identity provider issuers (local testing only; production issuers are https).'),
})

type Settings = z.infer<typeof settingsSchema>

export interface Config {
  readonly port: number
  readonly host: string
  readonly projectName: string
  readonly logLevel: (typeof LOG_LEVELS)[keyof typeof LOG_LEVELS]
  readonly upstreams: {
    readonly ingest: string
    readonly query: string
    readonly auth: string | undefined
  }
  readonly queryUpstreamPrefix: string
  readonly routesFile: string | undefined
  readonly httpClient: {
    readonly connectTimeoutMs: number
    readonly timeoutMs: number
    readonly askTimeoutMs: number
    readonly maxConnections: number
    readonly maxKeepAliveConnections: number
    readonly keepAliveTimeoutMs: number
    readonly queueTimeoutMs: number
  }
  readonly limits: {
    readonly ingestMaxBodyBytes: number
    readonly defaultMaxBodyBytes: number
  }
  readonly server: {
    readonly trustProxy: TrustedProxies
    readonly keepAliveTimeoutMs: number
    readonly headersTimeoutMs: number
    readonly shutdownTimeoutMs: number
    readonly maxUrlBytes: number
    readonly maxHeaderBytes: number
    readonly maxHeaderCount: number
    readonly clientBodyTimeoutMs: number
    readonly maxConnections: number
  }
  readonly corsOrigins: readonly string[]
  readonly redisUrl: string | undefined
  readonly metricsPort: number | undefined
  /** OTLP/HTTP traces URL when tracing is on. */
  readonly otel: { readonly endpoint: string | undefined, readonly serviceName: string }
  readonly workers: number | 'auto'
  readonly rateLimits: {
    readonly userPerMinute: number
    readonly companyPerMinute: number
    readonly ipPerMinute: number
    readonly loginMaxFailures: number
    readonly loginMaxFailuresPerAccount: number
    readonly loginMaxConcurrentHashes: number
    readonly loginFailureWindowMs: number
    readonly failOpen: boolean
    readonly queryMaxConcurrentPerCompany: number
    readonly maxInFlightPerUser: number
    readonly webSocketsPerUser: number
    readonly webSocketsPerCompany: number
  }
  readonly jwt: {
    readonly secret: string | undefined
    readonly algorithm: 'HS256' | 'HS384' | 'HS512'
    readonly audience: string | undefined
    readonly issuer: string | undefined
    readonly clockToleranceSeconds: number
    readonly expirationMinutes: number
    readonly maxLifetimeSeconds: number
    readonly externalIssuers: readonly ExternalIssuer[]
  }
  readonly refreshTokens: { readonly enabled: boolean, readonly ttlDays: number }
  readonly audit: { readonly enabled: boolean, readonly retentionDays: number }
  readonly apiKeySecret: string | undefined
  readonly identityAssertion: {
    readonly enabled: boolean
    readonly issuer: string
    readonly lifetimeSeconds: number
    readonly signingKeyPem: string | undefined
    readonly signingKeyFile: string | undefined
    readonly previousPublicKeysPem: string | undefined
  }
  readonly userCacheTtlMs: number
  readonly database: DatabaseConfig
  readonly defaultCompanyId: string | undefined
  readonly allowSelfRegistration: boolean
  readonly sso: SsoConfig
}

export interface SsoConfig {
  /** Single sign-on is on when the frontend page it ends on is configured. */
  readonly frontendUrl: string | undefined
  readonly callbackUrl: string | undefined
  readonly encryptionKey: string | undefined
  readonly allowHttpIssuers: boolean
}

export type DatabaseConfig =
  | { readonly kind: 'embedded', readonly dataDir: string }
  | {
    readonly kind: 'postgres'
    readonly host: string
    readonly port: number
    readonly user: string
    readonly password: string | undefined
    readonly database: string
    readonly poolSize: number
  }

/** Env names are case-insensitive (as pydantic-settings in the seeds); the seeds' misspelling is an alias. */
function normaliseEnv (env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') out[key.toUpperCase()] = value
  }
  const misspelt = out.GATEWAY_HTTP_CLIENT_MAX_KEEPALIAS_CONNECTIONS
  if (misspelt !== undefined && out.GATEWAY_HTTP_CLIENT_MAX_KEEPALIVE_CONNECTIONS === undefined) {
    out.GATEWAY_HTTP_CLIENT_MAX_KEEPALIVE_CONNECTIONS = misspelt
  }
  return out
}

function readDotenv (path: string): Record<string, string> {
  return existsSync(path) ? parseDotenv(readFileSync(path)) : {}
}

function describeIssues (error: z.ZodError): string {
  return error.issues.map((issue) => {
    const name = issue.path.join('.')
    return `  ${name}: ${issue.message}`
  }).join('\n')
}

function checkSecret (settings: Settings): void {
  const secret = settings.GATEWAY_JWT_SECRET
  const embedded = settings.GATEWAY_POSTGRES_SERVER === undefined
  if (secret === undefined) {
    if (embedded) return
    throw new ConfigError('GATEWAY_JWT_SECRET: required when GATEWAY_POSTGRES_SERVER is set (only the embedded database may generate one)')
  }
  const weakness = weakSecretReason(secret)
  if (weakness !== undefined) throw new ConfigError(`GATEWAY_JWT_SECRET: ${weakness}`)
}

function checkApiKeySecret (settings: Settings): void {
  const secret = settings.GATEWAY_API_KEY_SECRET
  const weakness = secret === undefined ? undefined : weakSecretReason(secret)
  if (weakness !== undefined) throw new ConfigError(`GATEWAY_API_KEY_SECRET: ${weakness}`)
}

/** 32 bytes (AES-256) from base64, base64url or hex text; undefined for anything else. */
export function ssoKeyBytes (text: string): Buffer | undefined {
  const trimmed = text.trim()
  const bytes = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64')
  return bytes.length === 32 && /^[A-Za-z0-9+/_=-]+$/.test(trimmed) ? bytes : undefined
}

function checkSso (settings: Settings, corsOrigins: ReadonlySet<string>): void {
  const frontend = settings.GATEWAY_SSO_FRONTEND_URL
  if (frontend === undefined) return
  if (settings.GATEWAY_PUBLIC_URL === undefined) {
    throw new ConfigError('GATEWAY_PUBLIC_URL: required when GATEWAY_SSO_FRONTEND_URL is set (the identity providers redirect to it)')
  }
  if (!corsOrigins.has(new URL(frontend).origin)) {
    throw new ConfigError(`GATEWAY_SSO_FRONTEND_URL: its origin ${new URL(frontend).origin} must be an allowed CORS origin (add it to GATEWAY_CORS_ORIGINS)`)
  }
  if (settings.GATEWAY_SSO_ENCRYPTION_KEY === undefined && settings.GATEWAY_POSTGRES_SERVER !== undefined) {
    throw new ConfigError('GATEWAY_SSO_ENCRYPTION_KEY: required when single sign-on is on with GATEWAY_POSTGRES_SERVER (only the embedded database may generate one)')
  }
}

function externalIssuersOrThrow (json: string | undefined): ExternalIssuer[] {
  try {
    return parseExternalIssuers(json)
  } catch (error) {
    throw new ConfigError(`GATEWAY_EXTERNAL_ISSUERS: ${(error as Error).message}`)
  }
}

/** The settings of the database section: all that migrate and the user and company commands read. */
const databaseSettingsSchema = settingsSchema.pick({
  GATEWAY_POSTGRES_SERVER: true,
  GATEWAY_POSTGRES_PORT: true,
  GATEWAY_POSTGRES_USER: true,
  GATEWAY_POSTGRES_PASSWORD: true,
  GATEWAY_POSTGRES_DB: true,
  GATEWAY_POSTGRES_POOL_SIZE: true,
  GATEWAY_DATA_DIR: true,
})

function toDatabaseConfig (s: z.infer<typeof databaseSettingsSchema>): DatabaseConfig {
  return s.GATEWAY_POSTGRES_SERVER === undefined
    ? { kind: 'embedded', dataDir: s.GATEWAY_DATA_DIR }
    : {
        kind: 'postgres',
        host: s.GATEWAY_POSTGRES_SERVER,
        port: s.GATEWAY_POSTGRES_PORT,
        user: s.GATEWAY_POSTGRES_USER,
        password: s.GATEWAY_POSTGRES_PASSWORD,
        database: s.GATEWAY_POSTGRES_DB,
        poolSize: s.GATEWAY_POSTGRES_POOL_SIZE,
      }
}

function toConfig (s: Settings): Config {
  const corsOrigins = new Set([
    'http://localhost:3000', 'http://127.0.0.1:3000', 'http://localhost:3001', 'http://127.0.0.1:3001',
    ...(s.VERCEL_FRONTEND_URL ? [s.VERCEL_FRONTEND_URL] : []),
    ...(s.NGROK_URL ? [s.NGROK_URL] : []),
    ...s.GATEWAY_CORS_ORIGINS.map((origin) => origin.replace(/\/+$/, '')),
  ])
  return {
    port: s.PORT,
    host: s.GATEWAY_HOST,
    projectName: s.GATEWAY_PROJECT_NAME,
    logLevel: LOG_LEVELS[s.GATEWAY_LOG_LEVEL],
    upstreams: { ingest: s.GATEWAY_INGEST_SERVICE_URL, query: s.GATEWAY_QUERY_SERVICE_URL, auth: s.GATEWAY_AUTH_SERVICE_URL },
    queryUpstreamPrefix: s.GATEWAY_QUERY_UPSTREAM_PREFIX,
    routesFile: s.GATEWAY_ROUTES_FILE,
    httpClient: {
      connectTimeoutMs: s.GATEWAY_HTTP_CLIENT_CONNECT_TIMEOUT * 1000,
      timeoutMs: s.GATEWAY_HTTP_CLIENT_TIMEOUT * 1000,
      askTimeoutMs: s.GATEWAY_QUERY_ASK_TIMEOUT * 1000,
      maxConnections: s.GATEWAY_HTTP_CLIENT_MAX_CONNECTIONS,
      maxKeepAliveConnections: s.GATEWAY_HTTP_CLIENT_MAX_KEEPALIVE_CONNECTIONS,
      keepAliveTimeoutMs: s.GATEWAY_HTTP_CLIENT_KEEPALIVE_TIMEOUT * 1000,
      queueTimeoutMs: s.GATEWAY_UPSTREAM_QUEUE_TIMEOUT * 1000,
    },
    limits: { ingestMaxBodyBytes: s.GATEWAY_INGEST_MAX_BODY_BYTES, defaultMaxBodyBytes: s.GATEWAY_MAX_BODY_BYTES },
    server: {
      trustProxy: s.GATEWAY_TRUST_PROXY,
      keepAliveTimeoutMs: s.GATEWAY_KEEP_ALIVE_TIMEOUT * 1000,
      headersTimeoutMs: s.GATEWAY_HEADERS_TIMEOUT * 1000,
      shutdownTimeoutMs: s.GATEWAY_SHUTDOWN_TIMEOUT * 1000,
      maxUrlBytes: s.GATEWAY_MAX_URL_BYTES,
      maxHeaderBytes: s.GATEWAY_MAX_HEADER_BYTES,
      maxHeaderCount: s.GATEWAY_MAX_HEADER_COUNT,
      clientBodyTimeoutMs: s.GATEWAY_CLIENT_BODY_TIMEOUT * 1000,
      maxConnections: s.GATEWAY_MAX_CONNECTIONS,
    },
    corsOrigins: [...corsOrigins],
    redisUrl: s.GATEWAY_REDIS_URL,
    metricsPort: s.GATEWAY_METRICS_PORT,
    otel: {
      endpoint: s.OTEL_SDK_DISABLED
        ? undefined
        : s.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (s.OTEL_EXPORTER_OTLP_ENDPOINT ? `${s.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined),
      serviceName: s.OTEL_SERVICE_NAME,
    },
    workers: s.GATEWAY_WORKERS === 'auto' ? 'auto' : Number(s.GATEWAY_WORKERS),
    rateLimits: {
      userPerMinute: s.GATEWAY_RATE_LIMIT_USER_PER_MINUTE,
      companyPerMinute: s.GATEWAY_RATE_LIMIT_COMPANY_PER_MINUTE,
      ipPerMinute: s.GATEWAY_RATE_LIMIT_IP_PER_MINUTE,
      loginMaxFailures: s.GATEWAY_LOGIN_MAX_FAILURES,
      loginMaxFailuresPerAccount: s.GATEWAY_LOGIN_MAX_FAILURES_PER_ACCOUNT,
      loginMaxConcurrentHashes: s.GATEWAY_LOGIN_MAX_CONCURRENT_HASHES,
      loginFailureWindowMs: s.GATEWAY_LOGIN_FAILURE_WINDOW_MINUTES * 60_000,
      failOpen: s.GATEWAY_RATE_LIMIT_FAIL_OPEN,
      queryMaxConcurrentPerCompany: s.GATEWAY_QUERY_MAX_CONCURRENT_PER_COMPANY,
      maxInFlightPerUser: s.GATEWAY_MAX_IN_FLIGHT_PER_USER,
      webSocketsPerUser: s.GATEWAY_WEBSOCKET_MAX_PER_USER,
      webSocketsPerCompany: s.GATEWAY_WEBSOCKET_MAX_PER_COMPANY,
    },
    jwt: {
      secret: s.GATEWAY_JWT_SECRET,
      algorithm: s.GATEWAY_JWT_ALGORITHM,
      audience: s.GATEWAY_JWT_AUDIENCE,
      issuer: s.GATEWAY_JWT_ISSUER,
      clockToleranceSeconds: s.GATEWAY_JWT_CLOCK_TOLERANCE,
      expirationMinutes: s.GATEWAY_JWT_EXPIRATION_MINUTES,
      maxLifetimeSeconds: 60 * (s.GATEWAY_JWT_MAX_LIFETIME_MINUTES ?? Math.max(1440, s.GATEWAY_JWT_EXPIRATION_MINUTES)),
      externalIssuers: externalIssuersOrThrow(s.GATEWAY_EXTERNAL_ISSUERS),
    },
    refreshTokens: { enabled: s.GATEWAY_REFRESH_TOKENS, ttlDays: s.GATEWAY_REFRESH_TOKEN_TTL_DAYS },
    audit: { enabled: s.GATEWAY_AUDIT, retentionDays: s.GATEWAY_AUDIT_RETENTION_DAYS },
    apiKeySecret: s.GATEWAY_API_KEY_SECRET,
    identityAssertion: {
      enabled: s.GATEWAY_IDENTITY_ASSERTION,
      issuer: s.GATEWAY_IDENTITY_ISSUER,
      lifetimeSeconds: s.GATEWAY_IDENTITY_ASSERTION_SECONDS,
      signingKeyPem: s.GATEWAY_IDENTITY_SIGNING_KEY,
      signingKeyFile: s.GATEWAY_IDENTITY_SIGNING_KEY_FILE,
      previousPublicKeysPem: s.GATEWAY_IDENTITY_PREVIOUS_KEYS,
    },
    userCacheTtlMs: s.GATEWAY_USER_CACHE_TTL * 1000,
    database: toDatabaseConfig(s),
    defaultCompanyId: s.GATEWAY_DEFAULT_COMPANY_ID,
    allowSelfRegistration: s.GATEWAY_ALLOW_SELF_REGISTRATION,
    sso: {
      frontendUrl: s.GATEWAY_SSO_FRONTEND_URL,
      callbackUrl: s.GATEWAY_PUBLIC_URL === undefined ? undefined : `${s.GATEWAY_PUBLIC_URL}/api/v1/users/sso/callback`,
      encryptionKey: s.GATEWAY_SSO_ENCRYPTION_KEY,
      allowHttpIssuers: s.GATEWAY_SSO_ALLOW_HTTP_ISSUERS,
    },
  }
}

function deepFreeze<T> (value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}

export interface LoadConfigOptions {
  /** Path of the optional .env file; its values sit below the real environment. */
  dotenvPath?: string | undefined
}

/**
 * The only reader of the environment: validates every setting once and returns a frozen Config.
 * Throws ConfigError naming each bad variable and what it expects.
 */
export function loadConfig (env: Record<string, string | undefined>, options: LoadConfigOptions = {}): Config {
  const settings = parseSettings(settingsSchema, env, options)
  checkSecret(settings)
  checkApiKeySecret(settings)
  const { GATEWAY_JWT_MAX_LIFETIME_MINUTES: maxLifetime, GATEWAY_JWT_EXPIRATION_MINUTES: lifetime } = settings
  if (maxLifetime !== undefined && maxLifetime < lifetime) {
    throw new ConfigError(`GATEWAY_JWT_MAX_LIFETIME_MINUTES: ${maxLifetime} is below GATEWAY_JWT_EXPIRATION_MINUTES (${lifetime}): the gateway would refuse its own tokens`)
  }
  const config = toConfig(settings)
  checkSso(settings, new Set(config.corsOrigins))
  return deepFreeze(config)
}

/**
 * The database section alone, for the commands that only open the database (migrate, create-company,
 * create-user, reset-password): they neither need the JWT secret nor fail on a setting they never read.
 */
export function loadDatabaseConfig (env: Record<string, string | undefined>, options: LoadConfigOptions = {}): DatabaseConfig {
  return deepFreeze(toDatabaseConfig(parseSettings(databaseSettingsSchema, env, options)))
}

function parseSettings<Schema extends z.ZodType> (schema: Schema, env: Record<string, string | undefined>, options: LoadConfigOptions): z.infer<Schema> {
  const merged = { ...normaliseEnv(options.dotenvPath ? readDotenv(options.dotenvPath) : {}), ...normaliseEnv(env) }
  const parsed = schema.safeParse(merged)
  if (!parsed.success) throw new ConfigError(`Invalid configuration:\n${describeIssues(parsed.error)}`)
  return parsed.data
}

const mask = (secret: string | undefined): string | undefined => secret === undefined ? undefined : '[redacted]'

/** The effective settings, safe to print (startup log, check-config): each secret shows only whether it is set. */
export function describeConfig (config: Config): Record<string, unknown> {
  const { jwt, database, apiKeySecret, identityAssertion, sso, ...rest } = config
  const issuers = jwt.externalIssuers.map((issuer) => ({ ...issuer, secret: mask(issuer.secret) }))
  const safeDatabase = database.kind === 'postgres' ? { ...database, password: mask(database.password) } : database
  const redisUrl = rest.redisUrl === undefined ? undefined : rest.redisUrl.replace(/\/\/([^@/]*)@/, '//[redacted]@')
  return {
    ...rest,
    redisUrl,
    apiKeySecret: mask(apiKeySecret),
    identityAssertion: { ...identityAssertion, signingKeyPem: mask(identityAssertion.signingKeyPem) },
    jwt: { ...jwt, secret: mask(jwt.secret), externalIssuers: issuers },
    database: safeDatabase,
    sso: { ...sso, encryptionKey: mask(sso.encryptionKey) },
  }
}
