import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { JWTPayload } from 'jose'
import { backends } from './helpers/databases.js'
import { startSsoWorld, type SsoWorld } from './helpers/sso-world.js'

for (const { backend, skip } of await backends()) {
  describe(`single sign-on, ID token verification [${backend}]`, { skip }, () => {
    let world: SsoWorld
    let counter = 0

    before(async () => { world = await startSsoWorld(backend) })
    after(async () => { await world?.close() })

    /** Signs in a fresh account of A whose next ID token is rewritten; returns the error code the frontend got. */
    async function errorWith (rewrite: (claims: JWTPayload) => JWTPayload, options: { foreignKey?: boolean } = {}): Promise<string | null> {
      const email = `tampered-${counter++}@a.example`
      world.idpA.addAccount(email)
      await world.idpA.tamperNextIdToken(rewrite, options)
      const landing = await world.signIn(email)
      assert.equal(landing.searchParams.get('code'), null, 'no sign-in code')
      return landing.searchParams.get('error')
    }

    test('the untampered control signs in (the rewriting itself is sound)', async () => {
      world.idpA.addAccount('control@a.example')
      await world.idpA.tamperNextIdToken((claims) => claims)
      assert.ok((await world.signIn('control@a.example')).searchParams.has('code'))
    })

    test('an ID token for another audience is refused', async () => {
      assert.equal(await errorWith((claims) => ({ ...claims, aud: 'some-other-client' })), 'invalid_id_token')
    })

    test('an ID token with another nonce is refused (replayed ID token)', async () => {
      assert.equal(await errorWith((claims) => ({ ...claims, nonce: 'nonce-of-another-sign-in' })), 'invalid_id_token')
    })

    test('an expired ID token is refused', async () => {
      const now = Math.floor(Date.now() / 1000)
      assert.equal(await errorWith((claims) => ({ ...claims, iat: now - 7200, exp: now - 3600 })), 'invalid_id_token')
    })

    test('an ID token from another issuer is refused', async () => {
      assert.equal(await errorWith((claims) => ({ ...claims, iss: world.idpB.issuer })), 'invalid_id_token')
    })

    test('an ID token not signed by the provider\'s keys is refused', async () => {
      assert.equal(await errorWith((claims) => claims, { foreignKey: true }), 'invalid_id_token')
    })

    test('an email the provider does not vouch for (email_verified false) is refused', async () => {
      world.idpA.addAccount('unverified@a.example', { emailVerified: false })
      const landing = await world.signIn('unverified@a.example')
      assert.equal(landing.searchParams.get('error'), 'email_not_verified')
    })

    test('an ID token whose email_verified was turned true by someone else is refused (its signature breaks)', async () => {
      world.idpA.addAccount('forged@a.example', { emailVerified: false })
      await world.idpA.tamperNextIdToken((claims) => ({ ...claims, email_verified: true }), { foreignKey: true })
      assert.equal((await world.signIn('forged@a.example')).searchParams.get('error'), 'invalid_id_token')
    })
  })
}
