import { z } from 'zod'
import { weakSecretReason } from './config-secrets.js'

const HMAC_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const
const ASYMMETRIC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const

/** One external issuer: its tokens are recognised by their exact `iss` and verified with its own keys only. */
const externalIssuerSchema = z.object({
  name: z.string().min(1),
  issuer: z.string().min(1),
  audience: z.string().min(1).optional(),
  algorithms: z.array(z.enum([...HMAC_ALGORITHMS, ...ASYMMETRIC_ALGORITHMS])).min(1),
  jwksUrl: z.url({ protocol: /^https?$/ }).optional(),
  secret: z.string().superRefine((secret, context) => {
    const weakness = weakSecretReason(secret)
    if (weakness !== undefined) context.addIssue({ code: 'custom', message: `a shared secret: ${weakness}` })
  }).optional(),
  /** supabase: aud authenticated, role authenticated, company only from app_metadata. */
  profile: z.enum(['gateway', 'supabase']).default('gateway'),
  /** The token's user must exist and be active in our users table (same id). */
  requireLocalUser: z.boolean().default(true),
  /** Minimum time between two JWKS fetches triggered by unknown key ids, in milliseconds. */
  jwksCooldownMs: z.number().int().min(100).default(30_000),
  /** Age after which cached keys are refreshed on use (the last good ones stay if that fails), in milliseconds. */
  jwksMaxAgeMs: z.number().int().min(100).default(600_000),
}).strict().superRefine((issuer, context) => {
  if ((issuer.jwksUrl === undefined) === (issuer.secret === undefined)) {
    context.addIssue({ code: 'custom', message: 'give exactly one of jwksUrl and secret' })
  }
  const hmac = issuer.algorithms.filter((alg) => (HMAC_ALGORITHMS as readonly string[]).includes(alg))
  // RFC 8725 §3.1: a key is used with one kind of algorithm; a shared secret never verifies RS/ES tokens, nor a JWKS HS ones.
  if (issuer.secret !== undefined && hmac.length !== issuer.algorithms.length) {
    context.addIssue({ code: 'custom', message: 'a shared secret only takes HS256, HS384 or HS512' })
  }
  if (issuer.jwksUrl !== undefined && hmac.length > 0) {
    context.addIssue({ code: 'custom', message: 'a JWKS URL only takes asymmetric algorithms' })
  }
})

export type ExternalIssuer = z.infer<typeof externalIssuerSchema>

/** GATEWAY_EXTERNAL_ISSUERS: a JSON array of issuers, each validated (throws saying what is wrong); the Supabase profile implies aud `authenticated`. */
export function parseExternalIssuers (json: string | undefined): ExternalIssuer[] {
  if (json === undefined) return []
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    throw new Error('expected a JSON array of issuers')
  }
  const parsed = z.array(externalIssuerSchema).safeParse(value)
  if (!parsed.success) {
    throw new Error(`${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`)
  }
  return parsed.data.map((issuer) => issuer.profile === 'supabase' ? { ...issuer, audience: issuer.audience ?? 'authenticated' } : issuer)
}
