import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import type { Config } from '../config.js'

/**
 * Anything that could carry a credential is censored, wherever it appears in a log object;
 * the access log (request-log.ts) writes only the fields it chooses, on the same destination.
 */
const REDACTED_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]',
  'headers.authorization', 'headers.cookie', 'res.headers["set-cookie"]',
  '*.password', '*.hashed_password', '*.access_token', '*.refresh_token', '*.new_access_token', '*.token', '*.secret',
  'password', 'hashed_password', 'access_token', 'refresh_token', 'token', 'secret',
]

/** The `service` of every log line, access lines included. */
export const LOG_SERVICE = 'atenex-gateway'

let lastMs = 0
let lastTime = ''

/** pino's isoTime, formatted once per millisecond: busy replicas write dozens of lines in each. */
export function isoTimeByMillisecond (): string {
  const now = Date.now()
  if (now !== lastMs) {
    lastMs = now
    lastTime = `,"time":"${new Date(now).toISOString()}"`
  }
  return lastTime
}

export function loggerOptions (config: Pick<Config, 'logLevel' | 'projectName'>): LoggerOptions {
  return {
    level: config.logLevel,
    base: { service: LOG_SERVICE },
    timestamp: isoTimeByMillisecond,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  }
}

/** Lines are written in batches of at least this many bytes (or every second, whichever comes first). */
const BATCH_BYTES = 8192
const FLUSH_INTERVAL_MS = 1000
/** Beyond this much unwritten log (a stalled stdout), lines are dropped and counted rather than held. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024

/** Log lines dropped because stdout could not keep up (exposed as a metric). */
export const droppedLogLines = { count: 0 }

/**
 * stdout without blocking the request path, as nginx's buffered access_log: lines are batched and written
 * asynchronously, flushed every second, on drain and at exit (pino flushes the buffer synchronously when the
 * process exits, SIGTERM included), and bounded: a stalled reader costs dropped lines, not memory.
 * SonicBoom stays in its string mode: its buffer mode (a Buffer per line) was no faster on small JSON and made
 * the 64 KiB scenario 0.60x of the build before it, after a small-JSON warm-up (`npm run bench`, one run).
 */
export function asyncStdout (): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, minLength: BATCH_BYTES, maxLength: MAX_BUFFERED_BYTES, periodicFlush: FLUSH_INTERVAL_MS })
  stream.on('drop', (data: string) => { droppedLogLines.count += data.split('\n').length - 1 })
  // A closed stdout (EPIPE) must not take the gateway down with it.
  stream.on('error', () => undefined)
  return stream
}

export function createLogger (config: Pick<Config, 'logLevel' | 'projectName'>, destination: DestinationStream = asyncStdout()): Logger {
  return pino(loggerOptions(config), destination)
}
