import { readFileSync, existsSync } from 'node:fs'
import { parse as parseDotenv } from 'dotenv'
import { z } from 'zod'
import { parseExternalIssuers, type ExternalIssuer } from './config-issuers.js'

/** The seeds' log level names, mapped to pino's. */
const LOG_LEVELS = { DEBUG: 'debug', INFO: 'info', WARNING: 'warn', ERROR: 'error', CRITICAL: 'fatal' } as const

export const DEFAULT_INGEST_SERVICE_URL = 'http://ingest-api-service.nyro-develop.svc.cluster.local:80'
export const DEFAULT_QUERY_SERVICE_URL = 'http://query-service.nyro-develop.svc.cluster.local:80'
const MIB = 1024 * 1024
/** The minimum HMAC key length: RFC 7518 §3.2 asks for a key at least as long as the hash output. */
export const MIN_JWT_SECRET_BYTES = 32

export class ConfigError extends Error {
  override name = 'ConfigError'
}

export type { ExternalIssuer }
const PLACEHOLDER_SECRETS = new Set(['changeme', 'change-me', 'secret', 'your-secret-key', 'default_secret_key_please_change'])

const booleanFromEnv = z.enum(['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'], { error: 'expected true or false' })
  .transform((value) => ['true', '1', 'yes', 'on'].includes(value))

const urlFromEnv = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' })
  .transform((value) => value.replace(/\/+$/, ''))

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
  GATEWAY_TRUST_PROXY: booleanFromEnv.default(false)
    .describe('Trust X-Forwarded-* from the load balancer in front (client IP, protocol and host).'),
  GATEWAY_KEEP_ALIVE_TIMEOUT: positiveInt.default(75).describe('Seconds an idle client connection is kept open (above load-balancer idle timeouts).'),
  GATEWAY_HEADERS_TIMEOUT: positiveInt.default(15).describe('Seconds a client may take to send its request headers.'),
  GATEWAY_SHUTDOWN_TIMEOUT: positiveInt.default(25).describe('Seconds to drain in-flight requests on SIGTERM before exiting.'),

  GATEWAY_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'expected a redis:// or rediss:// URL' }).optional()
    .describe('Redis shared by the replicas for rate limits; unset keeps the limits in each process\'s memory.'),
  GATEWAY_RATE_LIMIT_USER_PER_MINUTE: positiveInt.default(600).describe('Requests per minute one user may make on proxied routes.'),
  GATEWAY_RATE_LIMIT_COMPANY_PER_MINUTE: positiveInt.default(3000).describe('Requests per minute one company may make on proxied routes.'),
  GATEWAY_RATE_LIMIT_IP_PER_MINUTE: positiveInt.default(120).describe('Requests per minute one IP may make on unauthenticated routes (login, refresh, auth service).'),
  GATEWAY_LOGIN_MAX_FAILURES: positiveInt.default(10).describe('Failed logins per email and IP before 429.'),
  GATEWAY_LOGIN_FAILURE_WINDOW_MINUTES: positiveInt.default(15).describe('Window of GATEWAY_LOGIN_MAX_FAILURES, in minutes.'),
  GATEWAY_RATE_LIMIT_FAIL_OPEN: booleanFromEnv.default(true)
    .describe('When Redis is unreachable, let proxied requests through (true) or refuse them with 503 (false); login limits always fail closed.'),
  GATEWAY_QUERY_MAX_CONCURRENT_PER_COMPANY: positiveInt.default(20).describe('Query-service requests one company may have in flight per replica; more get 429 at once.'),
  GATEWAY_MAX_URL_BYTES: positiveInt.default(8192).describe('Longest request target accepted (414 beyond).'),
  GATEWAY_MAX_HEADER_BYTES: positiveInt.default(16384).describe('Largest request header block accepted (431 beyond).'),
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
  GATEWAY_JWT_EXPIRATION_MINUTES: positiveInt.optional()
    .describe('Lifetime of issued access tokens, in minutes: 15 with refresh tokens, 1440 (the seeds\' 24 h) without.'),
  GATEWAY_REFRESH_TOKENS: booleanFromEnv.default(true).describe('Issue rotating refresh tokens at login (POST /api/v1/users/refresh, /logout).'),
  GATEWAY_REFRESH_TOKEN_TTL_DAYS: positiveInt.max(365).default(30).describe('Lifetime of a refresh token, in days.'),
  GATEWAY_EXTERNAL_ISSUERS: z.string().optional()
    .describe('JSON array of external token issuers (e.g. Supabase): see "External issuers" below.'),
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
  }
  readonly limits: {
    readonly ingestMaxBodyBytes: number
    readonly defaultMaxBodyBytes: number
  }
  readonly server: {
    readonly trustProxy: boolean
    readonly keepAliveTimeoutMs: number
    readonly headersTimeoutMs: number
    readonly shutdownTimeoutMs: number
    readonly maxUrlBytes: number
    readonly maxHeaderBytes: number
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
    readonly loginFailureWindowMs: number
    readonly failOpen: boolean
    readonly queryMaxConcurrentPerCompany: number
  }
  readonly jwt: {
    readonly secret: string | undefined
    readonly algorithm: 'HS256' | 'HS384' | 'HS512'
    readonly audience: string | undefined
    readonly issuer: string | undefined
    readonly clockToleranceSeconds: number
    readonly expirationMinutes: number
    readonly externalIssuers: readonly ExternalIssuer[]
  }
  readonly refreshTokens: { readonly enabled: boolean, readonly ttlDays: number }
  readonly userCacheTtlMs: number
  readonly database: DatabaseConfig
  readonly defaultCompanyId: string | undefined
  readonly allowSelfRegistration: boolean
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
  if (PLACEHOLDER_SECRETS.has(secret.toLowerCase())) {
    throw new ConfigError('GATEWAY_JWT_SECRET: a placeholder value; set a random secret of at least 32 bytes')
  }
  if (Buffer.byteLength(secret) < MIN_JWT_SECRET_BYTES) {
    throw new ConfigError(`GATEWAY_JWT_SECRET: expected at least ${MIN_JWT_SECRET_BYTES} bytes`)
  }
}

function externalIssuersOrThrow (json: string | undefined): ExternalIssuer[] {
  try {
    return parseExternalIssuers(json, MIN_JWT_SECRET_BYTES)
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
    },
    limits: { ingestMaxBodyBytes: s.GATEWAY_INGEST_MAX_BODY_BYTES, defaultMaxBodyBytes: s.GATEWAY_MAX_BODY_BYTES },
    server: {
      trustProxy: s.GATEWAY_TRUST_PROXY,
      keepAliveTimeoutMs: s.GATEWAY_KEEP_ALIVE_TIMEOUT * 1000,
      headersTimeoutMs: s.GATEWAY_HEADERS_TIMEOUT * 1000,
      shutdownTimeoutMs: s.GATEWAY_SHUTDOWN_TIMEOUT * 1000,
      maxUrlBytes: s.GATEWAY_MAX_URL_BYTES,
      maxHeaderBytes: s.GATEWAY_MAX_HEADER_BYTES,
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
      loginFailureWindowMs: s.GATEWAY_LOGIN_FAILURE_WINDOW_MINUTES * 60_000,
      failOpen: s.GATEWAY_RATE_LIMIT_FAIL_OPEN,
      queryMaxConcurrentPerCompany: s.GATEWAY_QUERY_MAX_CONCURRENT_PER_COMPANY,
    },
    jwt: {
      secret: s.GATEWAY_JWT_SECRET,
      algorithm: s.GATEWAY_JWT_ALGORITHM,
      audience: s.GATEWAY_JWT_AUDIENCE,
      issuer: s.GATEWAY_JWT_ISSUER,
      clockToleranceSeconds: s.GATEWAY_JWT_CLOCK_TOLERANCE,
      expirationMinutes: s.GATEWAY_JWT_EXPIRATION_MINUTES ?? (s.GATEWAY_REFRESH_TOKENS ? 15 : 1440),
      externalIssuers: externalIssuersOrThrow(s.GATEWAY_EXTERNAL_ISSUERS),
    },
    refreshTokens: { enabled: s.GATEWAY_REFRESH_TOKENS, ttlDays: s.GATEWAY_REFRESH_TOKEN_TTL_DAYS },
    userCacheTtlMs: s.GATEWAY_USER_CACHE_TTL * 1000,
    database: toDatabaseConfig(s),
    defaultCompanyId: s.GATEWAY_DEFAULT_COMPANY_ID,
    allowSelfRegistration: s.GATEWAY_ALLOW_SELF_REGISTRATION,
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
  return deepFreeze(toConfig(settings))
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
  const { jwt, database, ...rest } = config
  const issuers = jwt.externalIssuers.map((issuer) => ({ ...issuer, secret: mask(issuer.secret) }))
  const safeDatabase = database.kind === 'postgres' ? { ...database, password: mask(database.password) } : database
  const redisUrl = rest.redisUrl === undefined ? undefined : rest.redisUrl.replace(/\/\/([^@/]*)@/, '//[redacted]@')
  return { ...rest, redisUrl, jwt: { ...jwt, secret: mask(jwt.secret), externalIssuers: issuers }, database: safeDatabase }
}
