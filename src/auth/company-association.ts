import { GatewayError, badRequest, forbidden, notFound } from '../errors.js'
import type { CompaniesRepository, Company } from '../db/companies-repository.js'
import type { UserStatus } from '../db/users-repository.js'

export interface Association {
  readonly companyId: string
  readonly changed: boolean
}

/**
 * Which company ensure-company attaches the user to (SPEC §1.2): the requested one, else the user's own,
 * else the default. A non-admin may only confirm their company, or take the default when they have none;
 * that is checked before the company is looked up, so ids of other tenants cannot be probed.
 */
export async function chooseCompany (
  user: UserStatus, requested: string | undefined, defaultCompanyId: string | undefined, companies: CompaniesRepository
): Promise<Association> {
  const target = (requested ?? user.companyId ?? defaultCompanyId)?.toLowerCase()
  if (!target) throw badRequest('Cannot associate company: No specific ID provided and no default available for this user.')
  const current = user.companyId?.toLowerCase() ?? null
  const isAdmin = user.roles.includes('admin')
  const allowed = isAdmin || target === current || (current === null && target === defaultCompanyId?.toLowerCase())
  if (!allowed) throw forbidden('Not allowed to change company association.')

  const company = await requireActiveCompany(companies, target)
  return { companyId: company.id, changed: company.id !== current }
}

/** A company users may be attached to: it must exist and be active (the seeds' TODO, done). */
export async function requireActiveCompany (companies: CompaniesRepository, companyId: string): Promise<Company> {
  const company = await companies.findById(companyId)
  if (!company) throw badRequest(`Company with ID '${companyId}' not found.`)
  if (!company.isActive) throw badRequest(`Cannot assign user to inactive company '${companyId}'.`)
  return company
}

export const userNotFound = (): GatewayError => notFound('User not found.')
