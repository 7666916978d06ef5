import type { Queryable } from './database.js'

export interface TicketClaims {
  readonly userId: string
  readonly companyId: string
  /** The session of the token the ticket was traded for: ending it closes the socket. */
  readonly sessionId: string | null
  /** Seconds since the epoch. */
  readonly tokenExpiresAt: number
}

export function wsTicketsRepository (db: Queryable) {
  return {
    async insert (ticketHash: string, claims: TicketClaims, ttlSeconds: number): Promise<void> {
      await db.query(
        `INSERT INTO gateway_ws_tickets (ticket_hash, user_id, company_id, session_id, token_expires_at, expires_at)
         VALUES ($1, $2, $3, $4, to_timestamp($5), now() + make_interval(secs => $6::int))`,
        [ticketHash, claims.userId, claims.companyId, claims.sessionId, claims.tokenExpiresAt, ttlSeconds])
    },

    /** Deleting is redeeming: of two concurrent attempts, exactly one gets the row. */
    async redeem (ticketHash: string): Promise<TicketClaims | null> {
      const { rows } = await db.query<{ user_id: string, company_id: string, session_id: string | null, token_expires_at: Date, expires_at: Date }>(
        `DELETE FROM gateway_ws_tickets WHERE ticket_hash = $1
         RETURNING user_id, company_id, session_id, token_expires_at, expires_at`, [ticketHash])
      const row = rows[0]
      if (!row || row.expires_at.getTime() <= Date.now()) return null
      return { userId: row.user_id, companyId: row.company_id, sessionId: row.session_id, tokenExpiresAt: Math.floor(row.token_expires_at.getTime() / 1000) }
    },

    async deleteExpired (): Promise<void> {
      await db.query('DELETE FROM gateway_ws_tickets WHERE expires_at < now()')
    },
  }
}
