import { once } from 'node:events'
import { createInterface } from 'node:readline'
import type { Config } from '../config.js'
import { requireActiveCompany } from '../auth/company-association.js'
import { hashPassword } from '../auth/passwords.js'
import { companiesRepository, DuplicateCompanyError } from '../db/companies-repository.js'
import { DuplicateEmailError, usersRepository } from '../db/users-repository.js'
import { GatewayError } from '../errors.js'
import { isUuid } from '../auth/uuid.js'
import { requireOption, step, UsageError, type Command } from './command.js'
import { withDatabase } from './database.js'

const MIN_PASSWORD_LENGTH = 8

/** The password (or another secret) comes from standard input (one line) or a hidden prompt: never from argv, where `ps` and shell history see it. */
export async function readPassword (label = 'Password'): Promise<string> {
  if (!process.stdin.isTTY) {
    const lines = createInterface({ input: process.stdin })
    const [line] = await Promise.race([once(lines, 'line'), once(lines, 'close').then(() => [''])]) as string[]
    lines.close()
    return line ?? ''
  }
  process.stderr.write(`${label}: `)
  const stdin = process.stdin
  stdin.setRawMode(true)
  stdin.resume()
  return new Promise((resolve) => {
    let password = ''
    const onData = (data: Buffer): void => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          stdin.setRawMode(false)
          stdin.pause()
          stdin.off('data', onData)
          process.stderr.write('\n')
          resolve(password)
          return
        }
        if (char === '\u0003') process.exit(130)
        password = char === '\u007f' ? password.slice(0, -1) : password + char
      }
    }
    stdin.on('data', onData)
  })
}

export function createCompanyCommand (loadConfig: () => Config): Command {
  return {
    summary: 'Create a company and print its id.',
    usage: 'create-company --name <name>',
    options: { name: { type: 'string' } },
    run: async (values) => {
      const name = requireOption(values, 'name')
      await withDatabase(loadConfig(), async (db) => {
        try {
          const company = await step(`Creating company '${name}'`, () => companiesRepository(db).create(name))
          process.stdout.write(`${company.id}\n`)
        } catch (error) {
          if (error instanceof DuplicateCompanyError) throw new UsageError(`a company named '${name}' already exists`)
          throw error
        }
      })
    },
  }
}

export function createUserCommand (loadConfig: () => Config): Command {
  return {
    summary: 'Create a user; the password is read from standard input or a prompt, never from the command line.',
    usage: 'create-user --email <email> --company-id <uuid> [--name <full name>] [--roles user,admin]  (password on stdin)',
    options: { email: { type: 'string' }, 'company-id': { type: 'string' }, name: { type: 'string' }, roles: { type: 'string' }, password: { type: 'string' } },
    run: async (values) => {
      if (values.password !== undefined) throw new UsageError('--password is refused: pass the password on standard input or at the prompt')
      const email = requireOption(values, 'email')
      const companyId = requireOption(values, 'company-id')
      if (!isUuid(companyId)) throw new UsageError('--company-id must be a UUID')
      const roles = (typeof values.roles === 'string' ? values.roles : 'user').split(',').map((role) => role.trim()).filter(Boolean)
      if (roles.length === 0 || roles.some((role) => role !== 'user' && role !== 'admin')) throw new UsageError('--roles takes user and/or admin')
      const password = await readPassword()
      if (password.length < MIN_PASSWORD_LENGTH) throw new UsageError(`the password must be at least ${MIN_PASSWORD_LENGTH} characters`)
      await withDatabase(loadConfig(), async (db) => {
        try {
          await requireActiveCompany(companiesRepository(db), companyId)
        } catch (error) {
          if (error instanceof GatewayError) throw new UsageError(String(error.detail))
          throw error
        }
        const hashedPassword = await step('Hashing the password (bcrypt, cost 12)', () => hashPassword(password))
        try {
          const user = await step(`Creating user ${email}`, () => usersRepository(db).create({
            email, hashedPassword, fullName: typeof values.name === 'string' ? values.name : null, companyId, roles,
          }))
          process.stdout.write(`${user.id}\n`)
        } catch (error) {
          if (error instanceof DuplicateEmailError) throw new UsageError(`a user with email ${email} already exists`)
          throw error
        }
      })
    },
  }
}
