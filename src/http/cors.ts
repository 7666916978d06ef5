import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

const ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'Accept', 'Origin', 'X-Requested-With', 'ngrok-skip-browser-warning',
  'X-Request-ID', 'X-User-ID', 'X-Company-ID',
]

const EXPOSED_HEADERS = ['X-Request-ID', 'X-Process-Time']

/** The preflight cache lifetime browsers are told (SPEC §6). */
const PREFLIGHT_MAX_AGE_SECONDS = 600

/**
 * CORS for the configured origins only. A disallowed origin gets no CORS headers at all, and its
 * preflight falls through to the routes (where protected ones answer 401), so the browser blocks it.
 */
export async function registerCors (app: FastifyInstance, allowedOrigins: readonly string[]): Promise<void> {
  const allowed = new Set(allowedOrigins)
  await app.register(cors, {
    origin: (origin, callback) => callback(null, origin !== undefined && allowed.has(origin) ? origin : false),
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    allowedHeaders: ALLOWED_HEADERS,
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    strictPreflight: false,
  })
}

/**
 * The headers @fastify/cors gives an actual (non-preflight) request, for the proxy lane that answers without
 * Fastify; a test holds the two to the same output.
 */
export function corsResponseHeaders (allowedOrigins: readonly string[]): (origin: string | string[] | undefined) => Record<string, string> {
  const allowed = new Set(allowedOrigins)
  const exposed = EXPOSED_HEADERS.join(', ')
  return (origin): Record<string, string> => typeof origin === 'string' && allowed.has(origin)
    ? { vary: 'Origin', 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true', 'access-control-expose-headers': exposed }
    : { vary: 'Origin' }
}
