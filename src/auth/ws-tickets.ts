import { createHash, randomBytes } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify'
import type { Database } from '../db/database.js'
import { wsTicketsRepository, type TicketClaims } from '../db/ws-tickets-repository.js'
import { neverCached } from './user-routes.js'

/** Unredeemed tickets are swept this often (each lives 30 s). */
const SWEEP_INTERVAL_MS = 60_000
import { errorResponses } from '../api/error-responses.js'

export const WS_TICKET_TTL_SECONDS = 30

const hashOf = (ticket: string): string => createHash('sha256').update(ticket).digest('hex')

export class WsTickets {
  readonly #db: Database
  #sweep: NodeJS.Timeout | undefined

  constructor (db: Database) {
    this.#db = db
  }

  async issue (claims: TicketClaims): Promise<string> {
    const ticket = randomBytes(32).toString('base64url')
    await wsTicketsRepository(this.#db).insert(hashOf(ticket), claims, WS_TICKET_TTL_SECONDS)
    return ticket
  }

  async redeem (ticket: string): Promise<TicketClaims | null> {
    return wsTicketsRepository(this.#db).redeem(hashOf(ticket))
  }

  /** Tickets never redeemed leave the table once expired. */
  async sweep (): Promise<void> {
    await wsTicketsRepository(this.#db).deleteExpired()
  }

  startSweeping (onError: (error: unknown) => void): void {
    this.#sweep = setInterval(() => { this.sweep().catch(onError) }, SWEEP_INTERVAL_MS).unref()
  }

  stopSweeping (): void {
    clearInterval(this.#sweep)
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

export interface WsTicketRouteDeps {
  readonly tickets: WsTickets
  readonly strictAuth: onRequestHookHandler
  /** The per-user rate limit of the proxied routes: a ticket is a request to open one. */
  readonly userLimit: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
}

/** POST /api/v1/users/ws-ticket, under StrictAuth: the ticket opens exactly what the token opens, once. */
export async function wsTicketRoute (app: FastifyInstance, deps: WsTicketRouteDeps): Promise<void> {
  neverCached(app)
  app.addHook('onRequest', deps.strictAuth)
  app.addHook('onRequest', deps.userLimit)
  app.post('/ws-ticket', { schema: wsTicketSchema }, async (request) => {
    const identity = request.identity
    if (!identity?.companyId) throw new Error('StrictAuth let a request without company through')
    const ticket = await deps.tickets.issue({ userId: identity.userId, companyId: identity.companyId, sessionId: identity.sessionId, tokenExpiresAt: identity.expiresAt })
    return { ticket, expires_in: WS_TICKET_TTL_SECONDS }
  })
}
