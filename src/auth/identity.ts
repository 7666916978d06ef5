/** Who a request is, as verified from its token and the database. */
export interface Identity {
  readonly userId: string
  readonly companyId: string | null
  readonly email: string | null
  readonly roles: readonly string[]
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the authentication hook of the context the route is registered in; null on public routes. */
    identity: Identity | null
  }
}
