import type { FastifyReply, FastifyRequest } from 'fastify'

/**
 * What binds a sign-in to the browser that started it (RFC 9700 §2.1, §4.7): the state, nonce and PKCE
 * verifier travel in a signed, HttpOnly, SameSite=Lax cookie scoped to the callback, never in the page.
 */
export interface Flow {
  readonly state: string
  readonly nonce: string
  readonly codeVerifier: string
  readonly companyId: string
}

export const FLOW_COOKIE = 'atenex_sso_flow'
/** How long a user may take at the provider's login page, in seconds. */
export const FLOW_TTL_SECONDS = 600
const CALLBACK_PATH = '/api/v1/users/sso/callback'

interface Stored extends Flow { readonly exp: number }

export function writeFlowCookie (reply: FastifyReply, flow: Flow, secure: boolean): void {
  const stored: Stored = { ...flow, exp: Math.floor(Date.now() / 1000) + FLOW_TTL_SECONDS }
  reply.setCookie(FLOW_COOKIE, Buffer.from(JSON.stringify(stored)).toString('base64url'), {
    signed: true, httpOnly: true, sameSite: 'lax', secure, path: CALLBACK_PATH, maxAge: FLOW_TTL_SECONDS,
  })
}

export function clearFlowCookie (reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(FLOW_COOKIE, { httpOnly: true, sameSite: 'lax', secure, path: CALLBACK_PATH })
}

/** The flow this browser started, or null when the cookie is missing, forged, or older than its TTL. */
export function readFlowCookie (request: FastifyRequest): Flow | null {
  const raw = request.cookies[FLOW_COOKIE]
  if (raw === undefined) return null
  const unsigned = request.unsignCookie(raw)
  if (!unsigned.valid || unsigned.value === null) return null
  try {
    const stored = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as Partial<Stored>
    const fields = [stored.state, stored.nonce, stored.codeVerifier, stored.companyId]
    if (!fields.every((field) => typeof field === 'string') || typeof stored.exp !== 'number') return null
    if (stored.exp < Date.now() / 1000) return null
    return { state: stored.state as string, nonce: stored.nonce as string, codeVerifier: stored.codeVerifier as string, companyId: stored.companyId as string }
  } catch {
    return null
  }
}
