import type { AuthMethod } from '../db/sessions-repository.js'
import type { UserStatus } from '../db/users-repository.js'
import type { RefreshTokens } from './refresh-tokens.js'
import type { Sessions } from './sessions.js'
import type { TokenIssuer } from './token-issuer.js'

export interface SignInDeps {
  readonly tokens: TokenIssuer
  readonly sessions: Sessions
  /** Null when GATEWAY_REFRESH_TOKENS=false. */
  readonly refreshTokens: RefreshTokens | null
}

/** The 200 body of a successful login, whichever way the user proved who they are (password, single sign-on). */
export interface SignInBody {
  readonly access_token: string
  readonly token_type: 'bearer'
  readonly user_id: string
  readonly email: string
  readonly full_name: string | null
  readonly roles: readonly string[]
  readonly company_id: string | null
  readonly refresh_token?: string
}

export interface SignInOptions {
  readonly method?: AuthMethod
  /** A shorter access-token lifetime the client asked for (within the configured one). */
  readonly lifetimeMinutes?: number | undefined
}

/**
 * Opens a session for a user whose identity was just proven, and issues its tokens: the one place that does,
 * for every way of logging in. Returns the login's body and the session it opened.
 */
export async function signIn (deps: SignInDeps, user: UserStatus, options: SignInOptions = {}): Promise<{ body: SignInBody, sessionId: string }> {
  const sessionId = await deps.sessions.open(user.id, options.method ?? 'password')
  const accessToken = await deps.tokens.issue({
    userId: user.id, email: user.email, companyId: user.companyId, roles: user.roles, fullName: user.fullName, sessionId,
  }, deps.tokens.lifetimeFor(options.lifetimeMinutes))
  const refreshToken = await deps.refreshTokens?.issue(user.id, sessionId)
  return {
    sessionId,
    body: {
      access_token: accessToken,
      token_type: 'bearer',
      user_id: user.id,
      email: user.email,
      full_name: user.fullName,
      roles: user.roles,
      company_id: user.companyId,
      ...(refreshToken ? { refresh_token: refreshToken } : {}),
    },
  }
}
