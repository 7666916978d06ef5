import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import type { Config } from '../config.js'
import { BatchedLines } from './log-destination.js'

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

/** Lines are written in batches of 16 K characters, or within a second of the first line, whichever comes first. */
const BATCH_CHARS = 16 * 1024
const FLUSH_INTERVAL_MS = 1000
/** Beyond this much written but not yet read (a stalled stdout), lines are dropped and counted rather than held. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024

let stdoutLines: BatchedLines | undefined

/**
 * The process's stdout for log lines, without blocking the request path (log-destination.ts). One per process,
 * whatever builds a logger on it: its pending lines are written synchronously when the process exits, SIGTERM
 * included (main.ts exits once drained).
 */
export function asyncStdout (): DestinationStream {
  if (!stdoutLines) {
    const lines = new BatchedLines(process.stdout, 1, { batchChars: BATCH_CHARS, flushIntervalMs: FLUSH_INTERVAL_MS, maxQueuedBytes: MAX_QUEUED_BYTES })
    process.once('exit', () => { lines.flushSync() })
    stdoutLines = lines
  }
  return stdoutLines
}

export function createLogger (config: Pick<Config, 'logLevel' | 'projectName'>, destination: DestinationStream = asyncStdout()): Logger {
  return pino(loggerOptions(config), destination)
}
