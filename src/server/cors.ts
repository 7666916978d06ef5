import cors from '@fastify/cors'
import type { FastifyInstance } from 'fastify'

const ALLOWED_HEADERS = [
  'Authorization', 'Content-Type', 'Accept', 'Origin', 'X-Requested-With', 'ngrok-skip-browser-warning',
  'X-Request-ID', 'X-User-ID', 'X-Company-ID',
]

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
    exposedHeaders: ['X-Request-ID', 'X-Process-Time'],
    maxAge: PREFLIGHT_MAX_AGE_SECONDS,
    strictPreflight: false,
  })
}
