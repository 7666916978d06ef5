import pino from 'pino'
import type { Config } from '../config.js'
import { resolveJwtSecret } from '../auth/jwt-secret.js'
import { TokenIssuer } from '../auth/token-issuer.js'
import { usersRepository } from '../db/users-repository.js'
import { loggerOptions } from '../observability/logger.js'
import { CommandError, requireOption, UsageError, type Command } from './command.js'
import { withDatabase } from './database.js'

/** Development only: a token for an existing user, signed with the configured (or embedded) secret. */
export function mintTokenCommand (loadConfig: () => Config): Command {
  return {
    summary: 'Development: print an access token for an existing user (needs --dev against a real database).',
    usage: 'mint-token --email <email> [--minutes 60] [--dev]',
    details: 'The token is signed with GATEWAY_JWT_SECRET (or, on the embedded database, the generated secret beside its folder) and printed on stdout.',
    settings: 'all',
    options: {
      email: { type: 'string', value: '<email>', required: true, description: 'An existing, active user.' },
      minutes: { type: 'string', value: '<n>', default: '60', description: 'Lifetime of the token, 1 to 1440.' },
      dev: { type: 'boolean', description: 'Allow it against a real (PostgreSQL) database.' },
    },
    run: async (values) => {
      const config = loadConfig()
      if (config.database.kind === 'postgres' && values.dev !== true) {
        throw new UsageError('mint-token is a development tool: pass --dev to mint a token against a real database')
      }
      const email = requireOption(values, 'email')
      const minutes = Number(values.minutes ?? 60)
      if (!Number.isInteger(minutes) || minutes < 1 || minutes > 24 * 60) throw new UsageError('--minutes takes a whole number from 1 to 1440')
      const user = await withDatabase(config.database, async (db) => usersRepository(db).findCredentialsByEmail(email))
      if (!user) throw new CommandError(`no user with email ${email}`)
      if (!user.isActive) throw new CommandError(`user ${email} is inactive`)
      const log = pino({ ...loggerOptions(config), level: 'warn' }, pino.destination(2))
      const tokens = await TokenIssuer.create(config.jwt, resolveJwtSecret(config, log))
      process.stdout.write(`${await tokens.issue({ userId: user.id, email: user.email, companyId: user.companyId, roles: user.roles, fullName: user.fullName, sessionId: null }, minutes)}\n`)
    },
  }
}
