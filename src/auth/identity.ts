/** Who a request is, as verified from its token and the database. */
export interface Identity {
  readonly userId: string
  readonly companyId: string | null
  readonly email: string | null
  readonly roles: readonly string[]
  /** A person (a token from login or an issuer) or a machine (a company's API key): sent upstream as X-Auth-Type. */
  readonly authType: 'user' | 'api_key'
  /** The subject is a row of our users table (false for an external issuer trusted without a local account). */
  readonly localUser: boolean
  /** What an API key may do (`ingest:read`, ...); null for people, whose tokens open every tenant route. */
  readonly scopes: readonly string[] | null
  /** An API key's own per-minute budget, replacing the per-user one; null: the defaults. */
  readonly rateLimitPerMinute: number | null
  /** The session the credential belongs to (a login), when it names one: a logout ends it. */
  readonly sessionId: string | null
  /** When the token this identity came from expires, in seconds since the epoch (long-lived sockets close then). */
  readonly expiresAt: number
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook of the context the route is registered in; null on public routes. */
    identity: Identity | null
  }
}
