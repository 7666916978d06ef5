import type { Queryable } from './database.js'

export type AuthMethod = 'password' | 'sso'

export function sessionsRepository (db: Queryable) {
  return {
    async create (userId: string, method: AuthMethod, lifetimeSeconds: number): Promise<string> {
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO gateway_sessions (user_id, auth_method, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3::int)) RETURNING id`, [userId, method, lifetimeSeconds])
      return (rows[0] as { id: string }).id
    },

    /** Keeps the session known at least as long as a token issued now may live (a refresh extends it). */
    async extend (id: string, userId: string, lifetimeSeconds: number): Promise<void> {
      await db.query(
        `INSERT INTO gateway_sessions (id, user_id, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3::int))
         ON CONFLICT (id) DO UPDATE SET expires_at = greatest(gateway_sessions.expires_at, excluded.expires_at)`, [id, userId, lifetimeSeconds])
    },

    async isRevoked (id: string): Promise<boolean> {
      const { rows } = await db.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM gateway_sessions WHERE id = $1', [id])
      return rows[0]?.revoked === true
    },

    async revoke (id: string): Promise<boolean> {
      const { rowCount } = await db.query('UPDATE gateway_sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [id])
      return rowCount > 0
    },

    /** Revokes every live session of a user; returns their ids. */
    async revokeAllOf (userId: string): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>(
        'UPDATE gateway_sessions SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING id', [userId])
      return rows.map((row) => row.id)
    },

    /** Revoked sessions whose tokens may still be presented (they have not expired). */
    async revokedAndLive (): Promise<string[]> {
      const { rows } = await db.query<{ id: string }>('SELECT id FROM gateway_sessions WHERE revoked_at IS NOT NULL AND expires_at > now()')
      return rows.map((row) => row.id)
    },

    async deleteExpired (): Promise<void> {
      await db.query('DELETE FROM gateway_sessions WHERE expires_at < now()')
    },
  }
}

export type SessionsRepository = ReturnType<typeof sessionsRepository>
