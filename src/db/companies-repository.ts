import type { Queryable } from './database.js'

export interface Company {
  readonly id: string
  readonly name: string
  readonly isActive: boolean
  readonly createdAt: Date
}

/** What the request path needs to know of a company: whether its users may still be served. */
export interface CompanyStatus {
  readonly id: string
  readonly isActive: boolean
}

export interface CompanyUserCount {
  readonly companyId: string
  readonly name: string
  readonly userCount: number
}

export class DuplicateCompanyError extends Error {
  override name = 'DuplicateCompanyError'
}

interface CompanyRow { id: string, name: string, is_active: boolean, created_at: Date }

const toCompany = (row: CompanyRow): Company => ({ id: row.id, name: row.name, isActive: row.is_active, createdAt: row.created_at })

export function companiesRepository (db: Queryable) {
  return {
    async findById (id: string): Promise<Company | null> {
      const { rows } = await db.query<CompanyRow>('SELECT id, name, is_active, created_at FROM companies WHERE id = $1', [id])
      return rows[0] ? toCompany(rows[0]) : null
    },

    async findStatus (id: string): Promise<CompanyStatus | null> {
      const { rows } = await db.query<{ id: string, is_active: boolean }>('SELECT id, is_active FROM companies WHERE id = $1', [id])
      return rows[0] ? { id: rows[0].id, isActive: rows[0].is_active } : null
    },

    async findByName (name: string): Promise<Company | null> {
      const { rows } = await db.query<CompanyRow>('SELECT id, name, is_active, created_at FROM companies WHERE name = $1', [name])
      return rows[0] ? toCompany(rows[0]) : null
    },

    async create (name: string, email: string | null = null): Promise<Company> {
      try {
        const { rows } = await db.query<CompanyRow>(
          'INSERT INTO companies (name, email) VALUES ($1, $2) RETURNING id, name, is_active, created_at', [name, email])
        return toCompany(rows[0] as CompanyRow)
      } catch (error) {
        if ((error as { code?: string }).code === '23505') throw new DuplicateCompanyError(name)
        throw error
      }
    },

    async setActive (id: string, isActive: boolean): Promise<void> {
      await db.query('UPDATE companies SET is_active = $2, updated_at = now() WHERE id = $1', [id, isActive])
    },

    async listActive (): Promise<Company[]> {
      const { rows } = await db.query<CompanyRow>(
        'SELECT id, name, is_active, created_at FROM companies WHERE is_active ORDER BY name')
      return rows.map(toCompany)
    },

    async activeUserCounts (): Promise<CompanyUserCount[]> {
      const { rows } = await db.query<{ id: string, name: string, user_count: string | number }>(
        `SELECT c.id, c.name, count(u.id) FILTER (WHERE u.is_active) AS user_count
           FROM companies c LEFT JOIN users u ON u.company_id = c.id
          WHERE c.is_active GROUP BY c.id, c.name ORDER BY c.name`)
      return rows.map((row) => ({ companyId: row.id, name: row.name, userCount: Number(row.user_count) }))
    },
  }
}

export type CompaniesRepository = ReturnType<typeof companiesRepository>
