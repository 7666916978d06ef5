import { randomUUID } from 'node:crypto'
import type { TestGateway } from './gateway.js'

/*
 * Rows a test needs written as another program would write them (a chosen id, a foreign password hash), where
 * TestGateway.company() and .user() go through the gateway's own repositories. The one place with fixture SQL.
 */

/** A company with a chosen id: the default company of self-registration, or one shared by two databases. */
export async function insertCompany (gateway: TestGateway, id: string, name = `Company ${id}`): Promise<void> {
  await gateway.app.gateway.db.query('INSERT INTO companies (id, name) VALUES ($1, $2)', [id, name])
}

/** A user row as written outside the gateway (a passlib hash, the same id in a second database); returns its id. */
export async function insertUser (gateway: TestGateway, user: { id?: string, email: string, hashedPassword: string, companyId: string | null }): Promise<string> {
  const id = user.id ?? randomUUID()
  await gateway.app.gateway.db.query('INSERT INTO users (id, email, hashed_password, company_id) VALUES ($1, $2, $3, $4)', [id, user.email, user.hashedPassword, user.companyId])
  return id
}
