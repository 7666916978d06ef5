import type { FastifyRequest } from 'fastify'
import type { AuditActor, AuditContext } from './events.js'

const MAX_USER_AGENT = 512

/** The audit context of a request: its client address (GATEWAY_TRUST_PROXY's rule, as request.ip), user agent and id. */
export function auditContext (request: FastifyRequest): AuditContext {
  const agent = request.headers['user-agent']
  return { clientIp: request.ip, userAgent: typeof agent === 'string' ? agent.slice(0, MAX_USER_AGENT) : null, requestId: request.id }
}

/** Who is acting in an authenticated request: its user or API key. */
export function actorOf (request: FastifyRequest): AuditActor {
  const identity = request.identity
  if (!identity) return { type: 'system', id: null }
  return { type: identity.authType === 'api_key' ? 'api_key' : 'user', id: identity.userId }
}
