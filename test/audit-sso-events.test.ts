import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { auditEvents } from './helpers/audit.js'
import { startSsoWorld, type SsoWorld } from './helpers/sso-world.js'

/** sso.succeeded and sso.failed (issue 19), written by the callback that ends a sign-in. */
for (const { backend, skip } of await backends()) {
  describe(`audit events of single sign-on [${backend}]`, { skip }, () => {
    let world: SsoWorld

    before(async () => { world = await startSsoWorld(backend) })
    after(async () => { await world?.close() })

    test('a sign-in writes sso.succeeded for the user in their company; a refused one sso.failed with the frontend\'s error code', async () => {
      world.idpA.addAccount('audited@a.example')
      const landing = await world.signIn('audited@a.example')
      assert.ok(landing.searchParams.has('code'))
      const succeeded = (await auditEvents(world.gateway, world.adminToken, { type: 'sso.succeeded', company_id: world.companyA.id }))[0]
      const user = (await world.gateway.app.gateway.db.query<{ id: string }>("SELECT id FROM users WHERE email = 'audited@a.example'")).rows[0]
      assert.deepEqual(succeeded?.actor, { type: 'user', id: user?.id })
      assert.deepEqual(succeeded?.target, { type: 'user', id: user?.id })
      assert.equal(succeeded?.client_ip, '127.0.0.1')
      assert.match(succeeded?.request_id ?? '', /\S/)

      await world.gateway.user({ email: 'intruder@a.example', companyId: world.companyB.id })
      world.idpA.addAccount('intruder@a.example')
      assert.equal((await world.signIn('intruder@a.example')).searchParams.get('error'), 'account_unavailable')
      const failed = (await auditEvents(world.gateway, world.adminToken, { type: 'sso.failed', company_id: world.companyA.id }))[0]
      assert.deepEqual(failed?.details, { reason: 'account_unavailable' })
      assert.deepEqual(failed?.actor, { type: 'system', id: null })
      assert.equal(failed?.client_ip, '127.0.0.1')
      assert.notEqual(failed?.request_id, succeeded?.request_id)
      assert.ok(!JSON.stringify(failed).includes('intruder'), 'the email the provider vouched for is not stored')
    })
  })
}
