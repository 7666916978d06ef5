import { createLocalJWKSet, createRemoteJWKSet, errors, type JWK, type JSONWebKeySet, type JWSHeaderParameters, type FlattenedJWSInput } from 'jose'
import type { webcrypto } from 'node:crypto'
import { GatewayError } from '../errors.js'
import { invalidToken } from './auth-errors.js'

export const JWKS_FETCH_TIMEOUT_MS = 5_000

export interface JwksTiming {
  /** A refetch on an unknown `kid` happens at most this often (single-flight: jose shares one fetch). */
  readonly cooldownMs: number
  /** Keys older than this are refreshed on use; a failed refresh keeps serving the last good keys. */
  readonly maxAgeMs: number
}

export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<webcrypto.CryptoKey>

export const keysUnavailable = (cause?: unknown): GatewayError =>
  new GatewayError('KEYS_UNAVAILABLE', 503, 'Authentication keys unavailable.', { cause })

const KEY_TYPE_OF_ALG = (alg: string): string => alg.startsWith('ES') ? 'EC' : alg === 'EdDSA' ? 'OKP' : 'RSA'

/**
 * RFC 8725 §3.1: a key is used with exactly one algorithm. A JWK that names its `alg` is used with that one
 * only; one that does not is accepted only when the issuer allows a single algorithm for its key type.
 */
function checkOneAlgorithmPerKey (jwks: JSONWebKeySet | undefined, header: JWSHeaderParameters, allowed: readonly string[]): void {
  const candidates = (jwks?.keys ?? []).filter((key: JWK) => header.kid === undefined || key.kid === header.kid)
  for (const key of candidates) {
    if (key.alg !== undefined && key.alg !== header.alg) throw invalidToken('Token validation failed: Algorithm does not match the key.')
    if (key.alg === undefined) {
      const sameType = allowed.filter((alg) => KEY_TYPE_OF_ALG(alg) === key.kty)
      if (sameType.length > 1) throw invalidToken('Token validation failed: Key has no single algorithm.')
    }
  }
}

/**
 * jose's remote key set (cached, refetched on unknown kid after a cooldown, one fetch at a time; it never
 * follows `jku`/`x5u`), made resilient: when a fetch fails, the last good keys still verify, and only a
 * token whose key is not among them gets 503 (not 401: the token may well be valid).
 */
export function jwksKeyResolver (url: string, allowedAlgorithms: readonly string[], timing: JwksTiming): KeyResolver {
  const remote = createRemoteJWKSet(new URL(url), {
    cooldownDuration: timing.cooldownMs,
    cacheMaxAge: timing.maxAgeMs,
    timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
  })
  let lastGood: { jwks: JSONWebKeySet, resolve: ReturnType<typeof createLocalJWKSet> } | undefined

  return async (header, token) => {
    try {
      const key = await remote(header, token)
      // Verified tokens are cached by the caller, so this small copy is made once per new token, not per request.
      const jwks = remote.jwks()
      checkOneAlgorithmPerKey(jwks, header, allowedAlgorithms)
      if (jwks) lastGood = { jwks, resolve: createLocalJWKSet(jwks) }
      return key
    } catch (error) {
      if (error instanceof GatewayError) throw error
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
        throw invalidToken('Token validation failed: No matching signing key.')
      }
      if (!lastGood) throw keysUnavailable(error)
      try {
        const key = await lastGood.resolve(header, token)
        checkOneAlgorithmPerKey(lastGood.jwks, header, allowedAlgorithms)
        return key
      } catch (fallbackError) {
        if (fallbackError instanceof GatewayError) throw fallbackError
        throw keysUnavailable(error)
      }
    }
  }
}
