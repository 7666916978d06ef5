import { GatewayError } from '../errors.js'

/**
 * Errors that mean "the database cannot be reached now", not "this request is wrong": the driver's socket
 * errors, PostgreSQL's connection-exception class (SQLSTATE 08) and operator-intervention shutdowns (57P0x),
 * too many connections (53300), and pg-pool's connect timeout.
 */
const OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', '53300', '57P01', '57P02', '57P03'])
const OUTAGE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended unexpectedly/

export function isDatabaseOutage (error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && (OUTAGE_CODES.has(code) || code.startsWith('08'))) return true
  return OUTAGE_MESSAGES.test(error.message)
}

/** The answer while the database is away: a 503 to retry, never the driver's message. */
export const databaseUnavailable = (cause: unknown): GatewayError =>
  new GatewayError('DATABASE_UNAVAILABLE', 503, 'Service temporarily unavailable; try again shortly.', { headers: { 'retry-after': '5' }, cause })
