import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance, onRequestHookHandler } from 'fastify'
import type { Database } from '../db/database.js'
import { wsTicketsRepository } from '../db/ws-tickets-repository.js'
import { errorResponses } from '../server/error-responses.js'

export const WS_TICKET_TTL_SECONDS = 30

const hashOf = (ticket: string): string => createHash('sha256').update(ticket).digest('hex')

export class WsTickets {
  readonly #db: Database

  constructor (db: Database) {
    this.#db = db
  }

  async issue (claims: { userId: string, companyId: string, tokenExpiresAt: number }): Promise<string> {
    const ticket = randomBytes(32).toString('base64url')
    const tickets = wsTicketsRepository(this.#db)
    await tickets.deleteExpired()
    await tickets.insert(hashOf(ticket), claims, WS_TICKET_TTL_SECONDS)
    return ticket
  }

  async redeem (ticket: string): Promise<{ userId: string, companyId: string, tokenExpiresAt: number } | null> {
    return wsTicketsRepository(this.#db).redeem(hashOf(ticket))
  }
}

const wsTicketSchema = {
  tags: ['users'],
  summary: 'A single-use, 30-second ticket to open a WebSocket on a proxied route (?ticket=...)',
  operationId: 'createWsTicket',
  security: [{ bearerAuth: [] }],
  response: {
    ...errorResponses(401, { 403: 'No company in the token' }, 429),
    200: { type: 'object', required: ['ticket', 'expires_in'], properties: { ticket: { type: 'string' }, expires_in: { type: 'integer' } } },
  },
} as const

/** POST /api/v1/users/ws-ticket, under StrictAuth: the ticket opens exactly what the token opens, once. */
export async function wsTicketRoute (app: FastifyInstance, deps: { tickets: WsTickets, strictAuth: onRequestHookHandler }): Promise<void> {
  app.addHook('onRequest', deps.strictAuth)
  app.post('/ws-ticket', { schema: wsTicketSchema }, async (request) => {
    const identity = request.identity
    if (!identity?.companyId) throw new Error('StrictAuth let a request without company through')
    const ticket = await deps.tickets.issue({ userId: identity.userId, companyId: identity.companyId, tokenExpiresAt: identity.expiresAt })
    return { ticket, expires_in: WS_TICKET_TTL_SECONDS }
  })
}
