import { createPrivateKey, createPublicKey, hkdfSync, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose'
import type { FastifyInstance } from 'fastify'
import { errorResponses } from '../api/error-responses.js'

/** RFC 8410: the PKCS #8 prefix of a raw 32-byte Ed25519 private key. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export interface AssertionKeySettings {
  /** A PKCS #8 PEM private key (Ed25519 or P-256), inline or in a file; undefined: derived from the JWT secret. */
  readonly signingKeyPem: string | undefined
  readonly signingKeyFile: string | undefined
  /** PEM public keys of earlier signing keys, still published until the assertions they signed have expired. */
  readonly previousPublicKeysPem: string | undefined
}

/** The key that signs identity assertions, and every public key the JWKS publishes. */
export interface AssertionKeys {
  readonly privateKey: KeyObject
  readonly alg: 'EdDSA' | 'ES256'
  readonly kid: string
  readonly jwks: { readonly keys: readonly JWK[] }
}

function algorithmOf (key: KeyObject): 'EdDSA' | 'ES256' {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA'
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256'
  throw new Error('GATEWAY_IDENTITY_SIGNING_KEY: expected an Ed25519 or P-256 (prime256v1) private key in PKCS #8 PEM')
}

/** Each PEM block of `text`, in order. */
const pemBlocks = (text: string): string[] => text.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----/g) ?? []

async function publicJwk (key: KeyObject, alg: string): Promise<JWK> {
  const jwk = await exportJWK(key)
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' }
}

/**
 * The signing key: the configured one, or, by default, an Ed25519 key derived from the JWT secret (HKDF), so
 * that every replica signs with the same key and publishes the same JWKS with no further setting; setting
 * GATEWAY_IDENTITY_SIGNING_KEY decouples it (and lets it rotate on its own, with the old public key kept in
 * GATEWAY_IDENTITY_PREVIOUS_KEYS). Key ids are RFC 7638 thumbprints.
 */
export async function loadAssertionKeys (settings: AssertionKeySettings, jwtSecret: string): Promise<AssertionKeys> {
  const pem = settings.signingKeyPem ?? (settings.signingKeyFile === undefined ? undefined : readFileSync(settings.signingKeyFile, 'utf8'))
  const privateKey = pem === undefined
    ? createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, Buffer.from(hkdfSync('sha256', jwtSecret, 'atenex-gateway', 'identity assertion signing key', 32))]), format: 'der', type: 'pkcs8' })
    : createPrivateKey(pem)
  const alg = algorithmOf(privateKey)
  const current = await publicJwk(createPublicKey(privateKey), alg)
  const previous = await Promise.all(pemBlocks(settings.previousPublicKeysPem ?? '').map(async (block) => {
    const key = createPublicKey(block)
    return publicJwk(key, algorithmOf(key))
  }))
  const keys = [current, ...previous.filter((jwk) => jwk.kid !== current.kid)]
  return { privateKey, alg, kid: current.kid as string, jwks: { keys } }
}

/** GET /.well-known/jwks.json: the public keys backends verify X-Atenex-Identity with. */
export function registerJwks (app: FastifyInstance, keys: AssertionKeys): void {
  app.get('/.well-known/jwks.json', {
    schema: {
      tags: ['identity'],
      operationId: 'jwks',
      summary: 'Public keys of the X-Atenex-Identity assertions sent to the backends (RFC 7517)',
      security: [],
      response: {
        ...errorResponses(),
        200: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true, properties: { kid: { type: 'string' }, kty: { type: 'string' }, alg: { type: 'string' } } } } } },
      },
    },
  }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300')
    return keys.jwks
  })
}
