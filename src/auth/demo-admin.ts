import { randomBytes } from 'node:crypto'
import { hashPassword } from './passwords.js'
import { companiesRepository } from '../db/companies-repository.js'
import type { Database } from '../db/database.js'
import { usersRepository } from '../db/users-repository.js'

export const DEMO_COMPANY_NAME = 'Atenex Demo'
export const DEMO_ADMIN_EMAIL = 'admin@atenex.local'

export interface DemoCredentials {
  readonly email: string
  readonly password: string
  readonly companyId: string
}

/**
 * On an empty embedded database: a demo company and its admin, whose generated password is returned
 * once, to be printed once. Returns undefined when users already exist.
 */
export async function bootstrapDemo (db: Database): Promise<DemoCredentials | undefined> {
  const users = usersRepository(db)
  if (await users.count() > 0) return undefined
  const companies = companiesRepository(db)
  const company = await companies.findByName(DEMO_COMPANY_NAME) ?? await companies.create(DEMO_COMPANY_NAME)
  const password = randomBytes(12).toString('base64url')
  await users.create({
    email: DEMO_ADMIN_EMAIL, hashedPassword: await hashPassword(password), fullName: 'Demo Admin', companyId: company.id, roles: ['admin', 'user'],
  })
  return { email: DEMO_ADMIN_EMAIL, password, companyId: company.id }
}
