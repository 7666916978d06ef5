import type { UserCredentials } from '../db/users-repository.js'
import type { RefreshTokens } from './refresh-tokens.js'
import type { TokenIssuer } from './token-issuer.js'

export interface SignInDeps {
  readonly tokens: TokenIssuer
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
  /** The refresh-token family to open, when the caller must know it beforehand (single sign-on records its sessions). */
  readonly familyId?: string
}

/** Opens a session for a user whose identity was just proven: the one place that issues a login's tokens. */
export async function signIn (deps: SignInDeps, user: Omit<UserCredentials, 'hashedPassword'>, options: SignInOptions = {}): Promise<SignInBody> {
  const accessToken = await deps.tokens.issue({ userId: user.id, email: user.email, companyId: user.companyId, roles: user.roles })
  const refreshToken = await deps.refreshTokens?.issue(user.id, options.familyId)
  return {
    access_token: accessToken,
    token_type: 'bearer',
    user_id: user.id,
    email: user.email,
    full_name: user.fullName,
    roles: user.roles,
    company_id: user.companyId,
    ...(refreshToken ? { refresh_token: refreshToken } : {}),
  }
}
