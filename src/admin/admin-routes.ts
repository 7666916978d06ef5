import type { FastifyInstance } from 'fastify'
import type { AuthHook } from '../auth/authenticate.js'
import { hashPassword } from '../auth/passwords.js'
import { requireActiveCompany } from '../auth/company-association.js'
import { conflict, notFound } from '../errors.js'
import { DuplicateCompanyError, type CompaniesRepository } from '../db/companies-repository.js'
import { DuplicateEmailError, type UserRecord, type UsersRepository } from '../db/users-repository.js'
import type { Sessions } from '../auth/sessions.js'
import type { AuditLog } from '../audit/audit-log.js'
import { actorOf, auditContext } from '../audit/request-context.js'
import { companiesRepository } from '../db/companies-repository.js'
import { usersRepository } from '../db/users-repository.js'
import type { AuditEvent } from '../audit/events.js'
import { createCompanySchema, createUserSchema, listUsersSchema, revokeSessionsSchema, selectCompaniesSchema, statsSchema, updateUserSchema } from './admin-schemas.js'

export interface AdminRoutesDeps {
  readonly users: UsersRepository
  readonly companies: CompaniesRepository
  readonly sessions: Sessions
  readonly adminAuth: AuthHook
  readonly audit: AuditLog
  /** Drops this replica's cached status of a user at once (NOTIFY tells the others, and this one, a moment later). */
  readonly forgetUser: (userId: string) => void
}

export const userView = (user: UserRecord) => ({
  id: user.id,
  email: user.email,
  name: user.name,
  company_id: user.companyId,
  roles: user.roles,
  is_active: user.isActive,
  created_at: user.createdAt.toISOString(),
})

interface NewUserBody { email: string, password: string, name?: string | null, company_id: string, roles?: string[] }

/** /api/v1/admin/*: every route here runs behind AdminAuth (role `admin` from the database). */
export async function adminRoutes (app: FastifyInstance, deps: AdminRoutesDeps): Promise<void> {
  app.addHook('onRequest', deps.adminAuth)

  app.get('/stats', { schema: statsSchema }, async () => {
    const counts = await deps.companies.activeUserCounts()
    return {
      company_count: counts.length,
      users_per_company: counts.map((entry) => ({ company_id: entry.companyId, name: entry.name, user_count: entry.userCount })),
    }
  })

  app.post<{ Body: { name: string } }>('/companies', { schema: createCompanySchema }, async (request, reply) => {
    try {
      const company = await deps.audit.withChange(auditContext(request), async (tx) => {
        const created = await companiesRepository(tx).create(request.body.name.trim())
        return { result: created, events: [{ type: 'company.created', actor: actorOf(request), companyId: created.id, target: { type: 'company', id: created.id }, details: { name: created.name } }] }
      })
      request.log.info({ company_id: company.id }, 'company created')
      return reply.code(201).send({ id: company.id, name: company.name, created_at: company.createdAt.toISOString() })
    } catch (error) {
      if (error instanceof DuplicateCompanyError) throw conflict(`Company with name '${request.body.name.trim()}' already exists.`)
      throw error
    }
  })

  app.get('/companies/select', { schema: selectCompaniesSchema }, async () =>
    (await deps.companies.listActive()).map((company) => ({ id: company.id, name: company.name })))

  app.post<{ Body: NewUserBody }>('/users', { schema: createUserSchema }, async (request, reply) => {
    const body = request.body
    await requireActiveCompany(deps.companies, body.company_id)
    try {
      const hashedPassword = await hashPassword(body.password)
      const user = await deps.audit.withChange(auditContext(request), async (tx) => {
        const created = await usersRepository(tx).create({
          email: body.email, hashedPassword, fullName: body.name ?? null, companyId: body.company_id, roles: [...new Set(body.roles ?? ['user'])],
        })
        return { result: created, events: [{ type: 'user.created', actor: actorOf(request), companyId: created.companyId, target: { type: 'user', id: created.id }, details: { roles: created.roles } }] }
      })
      request.log.info({ created_user_id: user.id, company_id: user.companyId }, 'user created')
      return reply.code(201).send(userView(user))
    } catch (error) {
      if (error instanceof DuplicateEmailError) throw conflict('A user with this email already exists.')
      throw error
    }
  })

  app.get<{ Params: { companyId: string }, Querystring: { limit: number, offset: number } }>(
    '/users/by_company/:companyId', { schema: listUsersSchema }, async (request) => {
      const { companyId } = request.params
      if (!await deps.companies.findById(companyId)) throw notFound(`Company with ID '${companyId}' not found.`)
      const users = await deps.users.listByCompany(companyId, request.query.limit, request.query.offset)
      return users.map(userView)
    })

  app.patch<{ Params: { userId: string }, Body: { is_active?: boolean, roles?: string[] } }>('/users/:userId', { schema: updateUserSchema }, async (request) => {
    const { userId } = request.params
    const updated = await deps.audit.withChange(auditContext(request), async (tx) => {
      const users = usersRepository(tx)
      const user = await users.findRecordForUpdate(userId)
      if (!user) throw notFound('User not found.')
      const events: AuditEvent[] = []
      const target = { type: 'user', id: user.id }
      const { is_active: isActive, roles } = request.body
      if (isActive !== undefined && isActive !== user.isActive) {
        await users.setActive(user.id, isActive)
        events.push({ type: isActive ? 'user.reactivated' : 'user.deactivated', actor: actorOf(request), companyId: user.companyId, target })
      }
      const newRoles = roles === undefined ? user.roles : [...new Set(roles)]
      if (newRoles.join(',') !== user.roles.join(',')) {
        await users.setRoles(user.id, newRoles)
        events.push({ type: 'user.roles_changed', actor: actorOf(request), companyId: user.companyId, target, details: { before: user.roles, after: newRoles } })
      }
      return { result: { ...user, isActive: isActive ?? user.isActive, roles: newRoles }, events }
    })
    deps.forgetUser(userId)
    request.log.info({ target_user_id: userId, is_active: updated.isActive, roles: updated.roles }, 'user updated')
    return userView(updated)
  })

  // Every session of the user ends at once, on every replica: their access and refresh tokens are refused.
  app.post<{ Params: { userId: string } }>('/users/:userId/revoke-sessions', { schema: revokeSessionsSchema }, async (request) => {
    const { userId } = request.params
    const target = await deps.users.findStatus(userId)
    if (!target) throw notFound('User not found.')
    const revoked = await deps.sessions.revokeAllOf(userId)
    await deps.audit.record(auditContext(request), {
      type: 'session.revoked', actor: actorOf(request), companyId: target.companyId, target: { type: 'user', id: userId }, details: { reason: 'admin', sessions: revoked },
    })
    request.log.info({ target_user_id: userId, revoked_sessions: revoked }, 'sessions revoked')
    return { user_id: userId, revoked_sessions: revoked }
  })
}
