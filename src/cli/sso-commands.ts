import pino from 'pino'
import type { Config } from '../config.js'
import { companiesRepository } from '../db/companies-repository.js'
import { GatewayError } from '../errors.js'
import { isUuid } from '../auth/uuid.js'
import { loggerOptions } from '../observability/logger.js'
import { checkSettings, providerView, saveProvider, type ProviderSettings } from '../sso/provider-settings.js'
import { providersRepository, type Provisioning } from '../sso/providers-repository.js'
import { resolveSecretBox } from '../sso/secret-box.js'
import { readOptionalSecret } from './password-input.js'
import { CommandError, requireOption, step, UsageError, type Command } from './command.js'
import { withDatabase } from './database.js'

type Values = Record<string, string | boolean | undefined>

const list = (value: string | boolean | undefined): string[] | undefined =>
  typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter(Boolean) : undefined

function companyIdOf (values: Values): string {
  const companyId = requireOption(values, 'company-id')
  if (!isUuid(companyId)) throw new UsageError('--company-id must be a UUID')
  return companyId
}

/** The command line's options as the admin API's body: one validation path for both (provider-settings.ts). */
function settingsOf (values: Values, clientSecret: string | undefined): ProviderSettings {
  const passwordLogin = values['password-login']
  if (passwordLogin !== undefined && passwordLogin !== 'true' && passwordLogin !== 'false') throw new UsageError('--password-login takes true or false')
  const provisioning = values.provisioning
  if (provisioning !== undefined && provisioning !== 'jit' && provisioning !== 'pre_created') throw new UsageError('--provisioning takes jit or pre_created')
  const hours = values['max-session-hours']
  if (hours !== undefined && !/^[1-9][0-9]{0,3}$/.test(String(hours))) throw new UsageError('--max-session-hours takes a number of hours (1 to 8760)')
  const params = list(values['authorization-params'])?.map((pair) => pair.split('=', 2))
  if (params?.some((pair) => pair.length !== 2 || !pair[0] || !pair[1])) throw new UsageError('--authorization-params takes name=value pairs, comma-separated')
  return {
    issuer: requireOption(values, 'issuer'),
    client_id: requireOption(values, 'client-id'),
    client_secret: clientSecret,
    allowed_domains: list(values.domains) ?? [],
    scopes: list(values.scopes),
    password_login: passwordLogin === undefined ? undefined : passwordLogin === 'true',
    provisioning: provisioning as Provisioning | undefined,
    max_session_hours: hours === undefined ? undefined : Number(hours),
    authorization_params: params ? Object.fromEntries(params) : undefined,
  }
}

async function asUsage<T> (work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof GatewayError) throw new UsageError(String(error.detail))
    throw error
  }
}

export function ssoSetCommand (loadConfig: () => Config): Command {
  return {
    settings: 'all',
    summary: 'Connect a company to its OpenID Connect provider; the client secret is read from standard input or a prompt (empty keeps the stored one).',
    usage: 'sso-set --company-id <uuid> --issuer <url> --client-id <id> --domains <a.com,b.com> [--scopes openid,email,profile] ' +
      '[--password-login true|false] [--provisioning jit|pre_created] [--max-session-hours N] [--authorization-params prompt=consent]  (secret on stdin)',
    options: {
      'company-id': { type: 'string', value: '<uuid>', description: 'The company whose people sign in through the provider.', required: true },
      issuer: { type: 'string', value: '<url>', description: 'The provider\'s issuer URL (discovered at <issuer>/.well-known/openid-configuration).', required: true },
      'client-id': { type: 'string', value: '<id>', description: 'The client (application) id registered at the provider.', required: true },
      'client-secret': { type: 'string', description: 'Refused: the secret is read from standard input or the prompt, never from the command line.' },
      domains: { type: 'string', value: '<a.com,b.com>', description: 'Email domains of the company\'s people (each belongs to one company only).', required: true },
      scopes: { type: 'string', value: '<list>', description: 'Scopes asked for, comma-separated.', default: 'openid,email,profile' },
      'password-login': { type: 'string', value: 'true|false', description: 'Whether the company\'s users may still log in with a password.', default: 'true' },
      provisioning: { type: 'string', value: 'jit|pre_created', description: 'Create unknown users at their first sign-in (role user), or only let in pre-created ones.', default: 'jit' },
      'max-session-hours': { type: 'string', value: '<hours>', description: 'After this, a single sign-on session must sign in again.', default: '24' },
      'authorization-params': { type: 'string', value: '<name=value,...>', description: 'Extra authorization request parameters (prompt, access_type, hd, domain_hint, ...).' },
    },
    run: async (values) => {
      if (values['client-secret'] !== undefined) throw new UsageError('--client-secret is refused: pass the secret on standard input or at the prompt')
      const companyId = companyIdOf(values)
      const secret = (await readOptionalSecret('Client secret (empty keeps the stored one): ')).trim()
      const settings = settingsOf(values, secret === '' ? undefined : secret)
      const config = loadConfig()
      await asUsage(async () => checkSettings(settings, config.sso.allowHttpIssuers))
      await withDatabase(config.database, async (db) => {
        const box = resolveSecretBox(config, pino({ ...loggerOptions(config), level: 'warn' }, pino.destination(2)))
        if (!box) throw new UsageError('GATEWAY_SSO_ENCRYPTION_KEY is required to store a client secret')
        const provider = await step(`Checking ${settings.issuer} and saving the provider`, () => asUsage(() =>
          saveProvider({ db, companies: companiesRepository(db), box, allowHttpIssuers: config.sso.allowHttpIssuers }, companyId, settings)))
        process.stdout.write(`${JSON.stringify(providerView(provider, config.sso.callbackUrl), null, 2)}\n`)
      })
    },
  }
}

export function ssoShowCommand (loadConfig: () => Config): Command {
  return {
    settings: 'all',
    summary: 'Print a company\'s identity provider settings (never the client secret).',
    usage: 'sso-show --company-id <uuid>',
    options: { 'company-id': { type: 'string', value: '<uuid>', description: 'The company.', required: true } },
    run: async (values) => {
      const companyId = companyIdOf(values)
      const config = loadConfig()
      await withDatabase(config.database, async (db) => {
        const provider = await providersRepository(db).findByCompany(companyId)
        if (!provider) throw new CommandError(`company ${companyId} has no single sign-on configured`)
        process.stdout.write(`${JSON.stringify(providerView(provider, config.sso.callbackUrl), null, 2)}\n`)
      })
    },
  }
}

export function ssoRemoveCommand (loadConfig: () => Config): Command {
  return {
    settings: 'all',
    summary: 'Disconnect a company from its identity provider (its SSO sessions stop refreshing).',
    usage: 'sso-remove --company-id <uuid>',
    options: { 'company-id': { type: 'string', value: '<uuid>', description: 'The company.', required: true } },
    run: async (values) => {
      const companyId = companyIdOf(values)
      await withDatabase(loadConfig().database, async (db) => {
        if (!await providersRepository(db).remove(companyId)) throw new CommandError(`company ${companyId} has no single sign-on configured`)
        process.stdout.write('Single sign-on removed.\n')
      })
    },
  }
}
