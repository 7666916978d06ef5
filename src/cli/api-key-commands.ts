import pino from 'pino'
import type { Config } from '../config.js'
import { apiKeyView, DEFAULT_GRACE_SECONDS, newApiKeyBody } from '../admin/api-key-routes.js'
import { requireActiveCompany } from '../auth/company-association.js'
import { ApiKeys, apiKeyHashingKey } from '../auth/api-keys.js'
import { resolveJwtSecret } from '../auth/jwt-secret.js'
import { isUuid } from '../auth/uuid.js'
import { companiesRepository } from '../db/companies-repository.js'
import type { Database } from '../db/database.js'
import { loadRouteTable, scopesOf } from '../dataplane/route-table.js'
import { GatewayError } from '../errors.js'
import { loggerOptions } from '../observability/logger.js'
import { CommandError, requireOption, step, UsageError, type Command } from './command.js'
import { withDatabase } from './database.js'
import { validateAsRoute } from './input-validation.js'

type Values = Record<string, string | boolean | undefined>

const KEYS_ROUTE = '/api/v1/admin/companies/:companyId/api-keys'
const KEY_FIELDS = { name: '--name', scopes: '--scopes', expires_at: '--expires-at', rate_limit_per_minute: '--rate-limit-per-minute' }
const EMBEDDED_NOTE = 'On the embedded database, stop the server first (it holds the data folder), or use the admin API while it runs.'
const SECRET_NOTE = 'The key is printed once, on standard output, and never stored (only its keyed hash is): keep it in your secret store now.'

function uuidOption (values: Values, name: string): string {
  const value = requireOption(values, name)
  if (!isUuid(value)) throw new UsageError(`--${name} must be a UUID`)
  return value
}

/** The ApiKeys service as the server builds it: the same hashing key (GATEWAY_API_KEY_SECRET, or derived from the JWT secret). */
function apiKeysOf (config: Config, db: Database): ApiKeys {
  const quiet = pino({ ...loggerOptions(config), level: 'error' }, pino.destination(2))
  return new ApiKeys(db, apiKeyHashingKey(config.apiKeySecret, resolveJwtSecret(config, quiet)), config.userCacheTtlMs)
}

/** Opens the database for one command and hands it the ApiKeys service. */
async function withApiKeys (config: Config, work: (keys: ApiKeys, db: Database) => Promise<void>): Promise<void> {
  await withDatabase(config.database, async (db) => work(apiKeysOf(config, db), db))
}

const printKey = (view: object, key?: string): void => {
  process.stdout.write(`${JSON.stringify(key === undefined ? view : { ...view, key }, null, 2)}\n`)
}

export function apiKeyCreateCommand (loadConfig: () => Config): Command {
  return {
    settings: 'all',
    summary: 'Create an API key for a company (a service account for its machines) and print it, once.',
    usage: 'api-key-create --company-id <uuid> --name <name> --scopes <ingest:read,...> [--expires-at <ISO date>] [--rate-limit-per-minute N]',
    details: `${SECRET_NOTE}\nEvery value is checked by the rules of POST ${KEYS_ROUTE}. ${EMBEDDED_NOTE}`,
    options: {
      'company-id': { type: 'string', value: '<uuid>', required: true, description: 'The active company that owns the key.' },
      name: { type: 'string', value: '<name>', required: true, description: 'What the key is for (e.g. "nightly document sync").' },
      scopes: { type: 'string', value: '<list>', required: true, description: 'Comma-separated scopes from the route table (ingest:read, ingest:write, query:read, query:ask by default).' },
      'expires-at': { type: 'string', value: '<ISO date>', description: 'When the key stops working (e.g. 2027-06-30T00:00:00Z); none by default.' },
      'rate-limit-per-minute': { type: 'string', value: '<N>', description: 'The key\'s own budget; by default the per-user one.' },
    },
    run: async (values) => {
      const companyId = uuidOption(values, 'company-id')
      const config = loadConfig()
      const limit = values['rate-limit-per-minute']
      if (limit !== undefined && !/^[1-9][0-9]*$/.test(String(limit))) throw new UsageError('--rate-limit-per-minute takes a positive whole number')
      const body: Record<string, unknown> = {
        name: requireOption(values, 'name').trim(),
        scopes: requireOption(values, 'scopes').split(',').map((scope) => scope.trim()).filter(Boolean),
        expires_at: values['expires-at'] ?? null,
        rate_limit_per_minute: limit === undefined ? null : Number(limit),
      }
      validateAsRoute(KEYS_ROUTE, newApiKeyBody(scopesOf(loadRouteTable(config))), body, KEY_FIELDS)
      const expiresAt = body.expires_at === null ? null : new Date(String(body.expires_at))
      if (expiresAt !== null && expiresAt.getTime() <= Date.now()) throw new UsageError('--expires-at must be in the future')
      await withApiKeys(config, async (keys, db) => {
        const companies = companiesRepository(db)
        if (!await companies.findById(companyId)) throw new CommandError(`no company with id ${companyId}`)
        try {
          await requireActiveCompany(companies, companyId)
        } catch (error) {
          if (error instanceof GatewayError) throw new CommandError(String(error.detail))
          throw error
        }
        const { record, key } = await step(`Creating API key '${String(body.name)}'`, () => keys.create({
          companyId, name: String(body.name), scopes: body.scopes as string[], expiresAt, rateLimitPerMinute: body.rate_limit_per_minute as number | null, createdBy: null,
        }))
        printKey(apiKeyView(record), key)
      })
    },
  }
}

export function apiKeyListCommand (loadConfig: () => Config): Command {
  return {
    settings: 'all',
    summary: 'List a company\'s API keys, newest first (never their secrets).',
    usage: 'api-key-list --company-id <uuid>',
    details: EMBEDDED_NOTE,
    options: { 'company-id': { type: 'string', value: '<uuid>', required: true, description: 'The company.' } },
    run: async (values) => {
      const companyId = uuidOption(values, 'company-id')
      const config = loadConfig()
      await withApiKeys(config, async (keys, db) => {
        if (!await companiesRepository(db).findById(companyId)) throw new CommandError(`no company with id ${companyId}`)
        printKey((await keys.list(companyId)).map(apiKeyView))
      })
    },
  }
}

export function apiKeyRotateCommand (loadConfig: () => Config): Command {
  return {
    settings: 'all',
    summary: 'Give an API key a new secret and print it, once; the old one keeps working for the grace period.',
    usage: 'api-key-rotate --key-id <uuid> [--grace-seconds 86400]',
    details: `${SECRET_NOTE} ${EMBEDDED_NOTE}`,
    options: {
      'key-id': { type: 'string', value: '<uuid>', required: true, description: 'The key (its id is the part after atx_).' },
      'grace-seconds': { type: 'string', value: '<seconds>', default: String(DEFAULT_GRACE_SECONDS), description: 'How long the previous secret still works (0 to 2592000).' },
    },
    run: async (values) => {
      const keyId = uuidOption(values, 'key-id')
      const grace = String(values['grace-seconds'] ?? DEFAULT_GRACE_SECONDS)
      if (!/^[0-9]+$/.test(grace) || Number(grace) > 30 * 86_400) throw new UsageError('--grace-seconds takes 0 to 2592000')
      const config = loadConfig()
      await withApiKeys(config, async (keys) => {
        const rotated = await step('Rotating the key', () => keys.rotate(keyId, Number(grace)))
        if (!rotated) throw new CommandError(`no API key ${keyId}, or it is revoked`)
        printKey(apiKeyView(rotated.record), rotated.key)
      })
    },
  }
}

export function apiKeyRevokeCommand (loadConfig: () => Config): Command {
  return {
    settings: 'all',
    summary: 'Revoke an API key: every replica refuses it within a second.',
    usage: 'api-key-revoke --key-id <uuid>',
    details: EMBEDDED_NOTE,
    options: { 'key-id': { type: 'string', value: '<uuid>', required: true, description: 'The key (its id is the part after atx_).' } },
    run: async (values) => {
      const keyId = uuidOption(values, 'key-id')
      const config = loadConfig()
      await withApiKeys(config, async (keys) => {
        const revoked = await step('Revoking the key', () => keys.revoke(keyId))
        if (!revoked) throw new CommandError(`no API key ${keyId}`)
        printKey(apiKeyView(revoked))
      })
    },
  }
}
