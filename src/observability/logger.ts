import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino'
import type { Config } from '../config.js'

/**
 * Anything that could carry a credential is censored, wherever it appears in a log object;
 * the access log itself only ever writes the fields we choose.
 */
const REDACTED_PATHS = [
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["proxy-authorization"]',
  'headers.authorization', 'headers.cookie', 'res.headers["set-cookie"]',
  '*.password', '*.hashed_password', '*.access_token', '*.refresh_token', '*.new_access_token', '*.token', '*.secret',
  'password', 'hashed_password', 'access_token', 'refresh_token', 'token', 'secret',
]

export function loggerOptions (config: Pick<Config, 'logLevel' | 'projectName'>): LoggerOptions {
  return {
    level: config.logLevel,
    base: { service: 'atenex-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  }
}

export function createLogger (config: Pick<Config, 'logLevel' | 'projectName'>, destination?: DestinationStream): Logger {
  return destination ? pino(loggerOptions(config), destination) : pino(loggerOptions(config))
}
