import { SignJWT } from 'jose'
import type { AssertionKeys } from '../auth/assertion-keys.js'
import type { Identity } from '../auth/identity.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

/** The request header of the signed assertion. */
export const IDENTITY_ASSERTION_HEADER = 'x-atenex-identity'
/** Identities remembered with their assertions; beyond this many, the cache starts over. */
const MAX_IDENTITIES = 50_000

interface Assertion {
  readonly token: string
  /** Reused until half its lifetime is gone: a backend always gets one with most of its life ahead. */
  readonly renewAt: number
  // What it asserts, compared by value (ids) or by reference (the cached user's roles, the key's scopes).
  readonly companyId: string | null
  readonly email: string | null
  readonly roles: readonly string[]
  readonly scopes: readonly string[] | null
}

export interface AssertionSettings {
  readonly keys: AssertionKeys
  readonly issuer: string
  readonly lifetimeSeconds: number
}

/**
 * The identity the backends can verify (as Pomerium's X-Pomerium-Jwt-Assertion): a short-lived JWT signed by
 * the gateway, for one upstream (`aud`), so that a pod that reaches a backend directly cannot speak for a
 * user, nor replay another backend's assertion. Signing costs more than verifying the bearer token, so an
 * assertion is reused for the same identity and upstream while most of its lifetime is left; its `jti` is the
 * id of the request that minted it.
 */
export class AssertionSigner {
  readonly #settings: AssertionSettings
  #byUser = new Map<string, Map<string, Assertion>>()
  #count = 0

  constructor (settings: AssertionSettings) {
    this.#settings = settings
  }

  /** A fresh assertion for this identity and audience, without any async work; undefined when one must be signed. */
  cached (identity: Identity, audience: string): string | undefined {
    const found = this.#byUser.get(identity.userId)?.get(audience)
    if (found === undefined || found.renewAt <= Date.now() || found.companyId !== identity.companyId || found.email !== identity.email ||
      found.roles !== identity.roles || found.scopes !== identity.scopes) return undefined
    return found.token
  }

  async sign (identity: Identity, audience: string, requestId: string): Promise<string> {
    const { keys, issuer, lifetimeSeconds } = this.#settings
    const issuedAt = Math.floor(Date.now() / 1000)
    const token = await new SignJWT({
      company_id: identity.companyId,
      email: identity.email,
      roles: [...identity.roles],
      auth_type: identity.authType,
      ...(identity.scopes === null ? {} : { scopes: [...identity.scopes] }),
    })
      .setProtectedHeader({ alg: keys.alg, kid: keys.kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(audience)
      .setSubject(identity.userId)
      .setJti(requestId)
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + lifetimeSeconds)
      .sign(keys.privateKey)
    this.#remember(identity, audience, { token, renewAt: (issuedAt + lifetimeSeconds / 2) * 1000, companyId: identity.companyId, email: identity.email, roles: identity.roles, scopes: identity.scopes })
    return token
  }

  #remember (identity: Identity, audience: string, assertion: Assertion): void {
    let forUser = this.#byUser.get(identity.userId)
    if (forUser === undefined) {
      if (this.#count >= MAX_IDENTITIES) {
        this.#byUser = new Map()
        this.#count = 0
      }
      forUser = new Map()
      this.#byUser.set(identity.userId, forUser)
      this.#count++
    }
    forUser.set(audience, assertion)
  }
}

/** The step: the signed identity beside the identity headers (routes without authentication get none). */
export function identityAssertion (signer: AssertionSigner): Step {
  return {
    name: 'identity assertion',
    run (exchange: Exchange) {
      const identity = exchange.identity
      const headers = exchange.upstreamHeaders
      if (identity === null || headers === null) return undefined
      const audience = exchange.match.route.audience
      const cached = signer.cached(identity, audience)
      if (cached !== undefined) {
        headers[IDENTITY_ASSERTION_HEADER] = cached
        return undefined
      }
      return signer.sign(identity, audience, exchange.requestId).then((token) => {
        headers[IDENTITY_ASSERTION_HEADER] = token
        return undefined
      })
    },
  }
}
