import type { Queryable } from './database.js'

export interface UserStatus {
  readonly id: string
  readonly email: string
  readonly fullName: string | null
  readonly companyId: string | null
  readonly roles: readonly string[]
  readonly isActive: boolean
}

export interface UserCredentials extends UserStatus {
  readonly hashedPassword: string
}

export interface UserRecord {
  readonly id: string
  readonly email: string
  readonly name: string | null
  readonly companyId: string | null
  readonly roles: readonly string[]
  readonly isActive: boolean
  readonly createdAt: Date
}

export interface NewUser {
  readonly email: string
  readonly hashedPassword: string
  readonly fullName: string | null
  readonly companyId: string | null
  readonly roles: readonly string[]
}

export class DuplicateEmailError extends Error {
  override name = 'DuplicateEmailError'
}

const UNIQUE_VIOLATION = '23505'

interface StatusRow { id: string, email: string, full_name: string | null, company_id: string | null, roles: string[], is_active: boolean }
interface RecordRow extends StatusRow { created_at: Date }

const toStatus = (row: StatusRow): UserStatus => ({
  id: row.id, email: row.email, fullName: row.full_name, companyId: row.company_id, roles: row.roles, isActive: row.is_active,
})

const toRecord = (row: RecordRow): UserRecord => ({
  id: row.id,
  email: row.email,
  name: row.full_name,
  companyId: row.company_id,
  roles: row.roles,
  isActive: row.is_active,
  createdAt: row.created_at,
})

const RECORD_COLUMNS = 'id, email, full_name, company_id, roles, is_active, created_at'

export function usersRepository (db: Queryable) {
  return {
    async findCredentialsByEmail (email: string): Promise<UserCredentials | null> {
      const { rows } = await db.query<StatusRow & { hashed_password: string }>(
        `SELECT id, email, full_name, company_id, roles, is_active, hashed_password
           FROM users WHERE lower(email) = lower($1) LIMIT 1`, [email])
      const row = rows[0]
      return row ? { ...toStatus(row), hashedPassword: row.hashed_password } : null
    },

    /** What a sign-in puts in its tokens and body (no password hash). */
    async findProfile (id: string): Promise<Omit<UserCredentials, 'hashedPassword'> | null> {
      const { rows } = await db.query<StatusRow & { full_name: string | null }>(
        'SELECT id, email, company_id, roles, is_active, full_name FROM users WHERE id = $1', [id])
      return rows[0] ? { ...toStatus(rows[0]), fullName: rows[0].full_name } : null
    },

    async findStatus (id: string): Promise<UserStatus | null> {
      const { rows } = await db.query<StatusRow>('SELECT id, email, full_name, company_id, roles, is_active FROM users WHERE id = $1', [id])
      return rows[0] ? toStatus(rows[0]) : null
    },

    /** The user's record, its row locked to the end of the transaction (a change read, decided and written at once). */
    async findRecordForUpdate (id: string): Promise<UserRecord | null> {
      const { rows } = await db.query<RecordRow>(`SELECT ${RECORD_COLUMNS} FROM users WHERE id = $1 FOR UPDATE`, [id])
      return rows[0] ? toRecord(rows[0]) : null
    },

    async recordLogin (id: string): Promise<void> {
      await db.query('UPDATE users SET last_login = now() WHERE id = $1', [id])
    },

    async setCompany (id: string, companyId: string): Promise<void> {
      await db.query('UPDATE users SET company_id = $2 WHERE id = $1', [id, companyId])
    },

    async setActive (id: string, isActive: boolean): Promise<void> {
      await db.query('UPDATE users SET is_active = $2 WHERE id = $1', [id, isActive])
    },

    async setPassword (id: string, hashedPassword: string): Promise<void> {
      await db.query('UPDATE users SET hashed_password = $2 WHERE id = $1', [id, hashedPassword])
    },

    async setRoles (id: string, roles: readonly string[]): Promise<void> {
      await db.query('UPDATE users SET roles = $2 WHERE id = $1', [id, roles])
    },

    async create (user: NewUser): Promise<UserRecord> {
      try {
        const { rows } = await db.query<RecordRow>(
          `INSERT INTO users (email, hashed_password, full_name, company_id, roles)
           VALUES ($1, $2, $3, $4, $5) RETURNING ${RECORD_COLUMNS}`,
          [user.email, user.hashedPassword, user.fullName, user.companyId, user.roles])
        return toRecord(rows[0] as RecordRow)
      } catch (error) {
        if ((error as { code?: string }).code === UNIQUE_VIOLATION) throw new DuplicateEmailError(user.email)
        throw error
      }
    },

    async listByCompany (companyId: string, limit: number, offset: number): Promise<UserRecord[]> {
      const { rows } = await db.query<RecordRow>(
        `SELECT ${RECORD_COLUMNS} FROM users WHERE company_id = $1
          ORDER BY created_at DESC, id LIMIT $2 OFFSET $3`, [companyId, limit, offset])
      return rows.map(toRecord)
    },

    async count (): Promise<number> {
      const { rows } = await db.query<{ count: string | number }>('SELECT count(*) AS count FROM users')
      return Number(rows[0]?.count ?? 0)
    },
  }
}

export type UsersRepository = ReturnType<typeof usersRepository>
