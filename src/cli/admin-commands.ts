import type { DatabaseConfig } from '../config.js'
import { createCompanySchema, createUserSchema } from '../admin/admin-schemas.js'
import { requireActiveCompany } from '../auth/company-association.js'
import { hashPassword } from '../auth/passwords.js'
import { companiesRepository, DuplicateCompanyError } from '../db/companies-repository.js'
import { refreshTokensRepository } from '../db/refresh-tokens-repository.js'
import { DuplicateEmailError, usersRepository } from '../db/users-repository.js'
import { GatewayError } from '../errors.js'
import { NO_REQUEST } from '../audit/events.js'
import { auditOf, CLI_ACTOR } from './cli-audit.js'
import { CommandError, requireOption, step, UsageError, type Command } from './command.js'
import { withDatabase } from './database.js'
import { validateAsRoute, validateFields } from './input-validation.js'
import { readPassword } from './password-input.js'

const COMPANIES_ROUTE = '/api/v1/admin/companies'
const USERS_ROUTE = '/api/v1/admin/users'
const USER_FIELDS = { email: '--email', password: 'the password', name: '--name', company_id: '--company-id', roles: '--roles' }
const PASSWORD_NOTE = 'The password is read from standard input (its first line) or, in a terminal, from a hidden prompt; never from the command line, where `ps` and shell history would see it.'
const BCRYPT_STEP = 'Hashing the password (bcrypt, cost 12)'

/** The embedded database is held by the server while it runs: say so where a newcomer hits it. */
const EMBEDDED_NOTE = 'On the embedded database, stop the server first (it holds the data folder), or use the admin API while it runs.'

const refusePasswordFlag = { type: 'string', hidden: true, description: 'Refused, with the reason.' } as const

export function createCompanyCommand (loadDatabase: () => DatabaseConfig): Command {
  return {
    summary: 'Create a company and print its id.',
    usage: 'create-company --name <name>',
    details: EMBEDDED_NOTE,
    settings: 'database',
    options: { name: { type: 'string', value: '<name>', required: true, description: `The company's name, unique (the rules of POST ${COMPANIES_ROUTE}).` } },
    run: async (values) => {
      const name = requireOption(values, 'name')
      validateAsRoute(COMPANIES_ROUTE, createCompanySchema.body, { name }, { name: '--name' })
      await withDatabase(loadDatabase(), async (db) => {
        try {
          const company = await step(`Creating company '${name}'`, () => auditOf(db).withChange(NO_REQUEST, async (tx) => {
            const created = await companiesRepository(tx).create(name)
            return { result: created, events: [{ type: 'company.created', actor: CLI_ACTOR, companyId: created.id, target: { type: 'company', id: created.id }, details: { name } }] }
          }))
          process.stdout.write(`${company.id}\n`)
        } catch (error) {
          if (error instanceof DuplicateCompanyError) throw new CommandError(`a company named '${name}' already exists`)
          throw error
        }
      })
    },
  }
}

export function createUserCommand (loadDatabase: () => DatabaseConfig): Command {
  return {
    summary: 'Create a user in a company and print its id.',
    usage: 'create-user --email <email> --company-id <uuid> [--name <full name>] [--roles user,admin]  < password',
    details: `${PASSWORD_NOTE}\nEvery value is checked by the rules of POST ${USERS_ROUTE}. ${EMBEDDED_NOTE}`,
    settings: 'database',
    options: {
      email: { type: 'string', value: '<email>', required: true, description: 'The user\'s email (login is case-insensitive).' },
      'company-id': { type: 'string', value: '<uuid>', required: true, description: 'The active company the user belongs to.' },
      name: { type: 'string', value: '<full name>', description: 'The user\'s full name.' },
      roles: { type: 'string', value: '<roles>', default: 'user', description: 'Comma-separated roles: user, admin.' },
      password: refusePasswordFlag,
    },
    run: async (values) => {
      if (values.password !== undefined) throw new UsageError('--password is refused: pass the password on standard input or at the prompt')
      const fields: Record<string, unknown> = {
        email: requireOption(values, 'email'),
        company_id: requireOption(values, 'company-id'),
        roles: (typeof values.roles === 'string' ? values.roles : 'user').split(',').map((role) => role.trim()).filter(Boolean),
        ...(typeof values.name === 'string' ? { name: values.name } : {}),
      }
      // The flags first, so that nobody types a password only to hear the email was wrong.
      validateFields(USERS_ROUTE, createUserSchema.body, fields, USER_FIELDS)
      const body: Record<string, unknown> = { ...fields, password: await readPassword() }
      validateAsRoute(USERS_ROUTE, createUserSchema.body, body, USER_FIELDS)
      const { email, company_id: companyId, roles, password } = body as { email: string, company_id: string, roles: string[], password: string }
      await withDatabase(loadDatabase(), async (db) => {
        try {
          await requireActiveCompany(companiesRepository(db), companyId)
        } catch (error) {
          if (error instanceof GatewayError) throw new CommandError(String(error.detail))
          throw error
        }
        const hashedPassword = await step(BCRYPT_STEP, () => hashPassword(password))
        try {
          const user = await step(`Creating user ${email}`, () => auditOf(db).withChange(NO_REQUEST, async (tx) => {
            const created = await usersRepository(tx).create({ email, hashedPassword, fullName: typeof body.name === 'string' ? body.name : null, companyId, roles })
            return { result: created, events: [{ type: 'user.created', actor: CLI_ACTOR, companyId, target: { type: 'user', id: created.id }, details: { roles: created.roles } }] }
          }))
          process.stdout.write(`${user.id}\n`)
        } catch (error) {
          if (error instanceof DuplicateEmailError) throw new CommandError(`a user with email ${email} already exists`)
          throw error
        }
      })
    },
  }
}

export function resetPasswordCommand (loadDatabase: () => DatabaseConfig): Command {
  return {
    summary: 'Set a new password for an existing user (a lost one-time admin password, say) and print the user\'s id.',
    usage: 'reset-password --email <email>  < new password',
    details: `${PASSWORD_NOTE}\nThe new password follows the rules of POST ${USERS_ROUTE}. The user's refresh tokens are revoked; access tokens already issued live until they expire. ${EMBEDDED_NOTE}`,
    settings: 'database',
    options: {
      email: { type: 'string', value: '<email>', required: true, description: 'The user\'s email (case-insensitive).' },
      password: refusePasswordFlag,
    },
    run: async (values) => {
      if (values.password !== undefined) throw new UsageError('--password is refused: pass the new password on standard input or at the prompt')
      const email = requireOption(values, 'email')
      const password = await readPassword('New password: ')
      validateFields(USERS_ROUTE, createUserSchema.body, { password }, USER_FIELDS)
      await withDatabase(loadDatabase(), async (db) => {
        const user = await usersRepository(db).findCredentialsByEmail(email)
        if (!user) throw new CommandError(`no user with email ${email}`)
        const hashedPassword = await step(BCRYPT_STEP, () => hashPassword(password))
        await step(`Setting the password of ${user.email}`, () => db.transaction(async (tx) => {
          await usersRepository(tx).setPassword(user.id, hashedPassword)
          return refreshTokensRepository(tx).revokeAllOfUser(user.id)
        }), (count) => `done (${count} refresh token${count === 1 ? '' : 's'} revoked)`)
        if (!user.isActive) process.stderr.write(`Note: ${user.email} is inactive, so logins stay refused until an administrator reactivates the user.\n`)
        process.stdout.write(`${user.id}\n`)
      })
    },
  }
}
