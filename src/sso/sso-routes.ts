import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import cookie from '@fastify/cookie'
import { clearFlowCookie, readFlowCookie, writeFlowCookie } from './flow-cookie.js'
import type { ProvidersRepository } from './providers-repository.js'
import type { SecretBox } from './secret-box.js'
import { domainOf } from './sso-accounts.js'
import { failureOf, SsoFailure } from './sso-failures.js'
import type { SsoLogin } from './sso-login.js'
import type { SsoSessions } from './sso-sessions.js'
import type { AuditLog } from '../audit/audit-log.js'
import { auditContext } from '../audit/request-context.js'
import { callbackSchema, discoverSchema, exchangeSchema, startSchema } from './sso-schemas.js'

export interface SsoRoutesDeps {
  readonly login: SsoLogin
  readonly sessions: SsoSessions
  readonly providers: ProvidersRepository
  readonly box: SecretBox
  readonly frontendUrl: string
  /** Mark the flow cookie Secure when browsers reach the gateway over https. */
  readonly secureCookie: boolean
  readonly perIpLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  readonly audit: AuditLog
}

/** What is logged of a failure's cause: class, code and message, never the objects (they hold codes and claims). */
function causeOf (failure: SsoFailure): Record<string, unknown> {
  const cause = failure.cause as { name?: string, code?: unknown, error?: unknown, message?: string, cause?: { message?: unknown } } | undefined
  if (!cause) return {}
  const inner = typeof cause.cause?.message === 'string' ? `: ${cause.cause.message}` : ''
  return { cause: `${cause.name ?? 'Error'}${typeof cause.code === 'string' ? ` ${cause.code}` : ''}${typeof cause.error === 'string' ? ` ${cause.error}` : ''}: ${cause.message ?? ''}${inner}` }
}

/** /api/v1/users/sso/*: the browser's legs of the flow end on the frontend page, with a code or an error code. */
export async function ssoRoutes (app: FastifyInstance, deps: SsoRoutesDeps): Promise<void> {
  await app.register(cookie, { secret: deps.box.derive('sso flow cookie'), hook: 'onRequest' })
  app.addHook('onRequest', deps.perIpLimit)

  const toFrontend = (reply: FastifyReply, name: 'code' | 'error', value: string): FastifyReply => {
    const target = new URL(deps.frontendUrl)
    target.searchParams.set(name, value)
    // The code is single-use and short-lived; still, no cache keeps it and no Referer carries it further.
    return reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(target.toString(), 302)
  }
  const fail = (request: FastifyRequest, reply: FastifyReply, error: unknown): FastifyReply => {
    const failure = failureOf(error)
    const level = failure.code === 'sso_failed' ? 'error' : 'info'
    request.log[level]({ sso_error: failure.code, ...causeOf(failure) }, 'single sign-on refused')
    return toFrontend(reply, 'error', failure.code)
  }

  app.get<{ Querystring: { email: string } }>('/discover', { schema: discoverSchema }, async (request) => {
    const provider = await deps.providers.findByDomain(domainOf(request.query.email))
    return { sso: provider !== null, password_login: provider?.passwordLogin ?? true }
  })

  app.get<{ Querystring: { email?: string, company?: string } }>('/start', { schema: startSchema }, async (request, reply) => {
    const { email, company } = request.query
    try {
      const { url, flow } = await deps.login.begin(email !== undefined ? { email } : { companyId: company as string })
      writeFlowCookie(reply, flow, deps.secureCookie)
      return reply.header('cache-control', 'no-store').redirect(url.toString(), 302)
    } catch (error) {
      return fail(request, reply, error)
    }
  })

  app.get('/callback', { schema: callbackSchema }, async (request, reply) => {
    const flow = readFlowCookie(request)
    // One answer per flow: the cookie is spent whatever happens next.
    clearFlowCookie(reply, deps.secureCookie)
    const query = new URL(request.url, 'http://callback').searchParams
    const context = auditContext(request)
    try {
      if (!flow) throw new SsoFailure('invalid_state')
      const grant = await deps.login.complete(flow, query)
      const code = await deps.sessions.issueCode(grant)
      request.log.info({ user_id: grant.userId, company_id: grant.companyId }, 'single sign-on succeeded')
      await deps.audit.record(context, {
        type: 'sso.succeeded', actor: { type: 'user', id: grant.userId }, companyId: grant.companyId, target: { type: 'user', id: grant.userId },
      })
      return toFrontend(reply, 'code', code)
    } catch (error) {
      await deps.audit.record(context, { type: 'sso.failed', actor: { type: 'system', id: null }, companyId: flow?.companyId ?? null, details: { reason: failureOf(error).code } })
      return fail(request, reply, error)
    }
  })

  app.post<{ Body: { code: string } }>('/exchange', { schema: exchangeSchema }, async (request) => {
    const body = await deps.sessions.exchange(request.body.code)
    request.log.info({ user_id: body.user_id, company_id: body.company_id }, 'single sign-on code exchanged')
    return body
  })
}
