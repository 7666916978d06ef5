import type { Queryable } from '../database.js'

/**
 * Single-use WebSocket tickets: a browser cannot set Authorization on a WebSocket, so it trades its token
 * for a 30-second ticket put in the query string. Kept in PostgreSQL so that any replica can redeem it.
 */
export async function up ({ context: db }: { context: Queryable }): Promise<void> {
  await db.query(`CREATE TABLE IF NOT EXISTS gateway_ws_tickets (
    ticket_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    company_id uuid NOT NULL,
    token_expires_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
  )`)
}
