/** The minimum HMAC key length: RFC 7518 §3.2 asks for a key at least as long as the hash output. */
export const MIN_SECRET_BYTES = 32
/** What a shared secret must carry at least, estimated from its characters (a random 32-byte key has ~190). */
const MIN_ESTIMATED_ENTROPY_BITS = 128

/**
 * Secrets published in the seeds and their examples (a deployment copied from them would sign with a public
 * key), and the usual placeholders. Compared case-insensitively.
 */
const PUBLISHED_SECRETS = new Set([
  'your_default_jwt_secret_key_change_me_in_env_or_secret',
  'your_jwt_secret_key_needs_to_be_set_in_env_or_secret',
  'tu_supabase_jwt_secret_real_aqui',
  'tu_clave_secreta_jwt_de_produccion_muy_segura',
  'una-clave-secreta-muy-fuerte-para-desarrollo-local-1234567890',
  'replace_me', 'changeme', 'change-me', 'change_me', 'secret', 'your-secret-key', 'default_secret_key_please_change',
  'super-secret-jwt-token-with-at-least-32-characters-long',
])

/** Shannon entropy of the secret's own character distribution, times its length: a crude but honest floor. */
function estimatedEntropyBits (secret: string): number {
  const counts = new Map<string, number>()
  for (const char of secret) counts.set(char, (counts.get(char) ?? 0) + 1)
  let bitsPerChar = 0
  for (const count of counts.values()) {
    const p = count / secret.length
    bitsPerChar -= p * Math.log2(p)
  }
  return bitsPerChar * secret.length
}

/** `secret` is one shorter string repeated ("passwordpassword…"). */
function isRepetition (secret: string): boolean {
  for (let period = 1; period <= secret.length / 2; period++) {
    if (secret.length % period === 0 && secret.slice(0, period).repeat(secret.length / period) === secret) return true
  }
  return false
}

/** Why `secret` must not sign tokens, or undefined when it may (RFC 8725 §3.5: keys with enough entropy). */
export function weakSecretReason (secret: string): string | undefined {
  if (PUBLISHED_SECRETS.has(secret.trim().toLowerCase()) || /^(your|tu)[_-]|change[_-]?me|replace[_-]?me/i.test(secret)) {
    return 'a placeholder or a published example value; set a random secret of at least 32 bytes (e.g. openssl rand -base64 48)'
  }
  if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) return `expected at least ${MIN_SECRET_BYTES} bytes`
  if (isRepetition(secret) || estimatedEntropyBits(secret) < MIN_ESTIMATED_ENTROPY_BITS) {
    return 'too predictable (repeated or too few distinct characters); set a random secret (e.g. openssl rand -base64 48)'
  }
  return undefined
}
