import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { backends } from './helpers/databases.js'
import { startGateway, type TestGateway } from './helpers/gateway.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

for (const { backend, skip } of await backends()) {
  describe(`the token ensure-company answers works at once [${backend}]`, { skip }, () => {
    let upstream: StandInUpstream
    let gateway: TestGateway
    let companyId: string

    before(async () => {
      upstream = await startUpstream()
      gateway = await startGateway({ backend, env: { GATEWAY_INGEST_SERVICE_URL: upstream.url } })
      companyId = (await gateway.company()).id
    })
    after(async () => {
      await gateway.close()
      await upstream.close()
    })

    test('a user given a company by ensure-company is not refused by the cached status of before (NOTIFY comes later)', async () => {
      for (let i = 0; i < 25; i++) {
        // An administrator without a company yet may choose one (a non-admin only the default).
        const user = await gateway.user({ roles: ['user', 'admin'] })
        const before = await gateway.tokenFor(user)
        // The user's status (no company yet) is now in this replica's cache.
        assert.equal((await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${before}` } })).status, 403)
        const ensured = await fetch(`${gateway.url}/api/v1/users/me/ensure-company`, {
          method: 'POST', headers: { authorization: `Bearer ${before}`, 'content-type': 'application/json' }, body: JSON.stringify({ company_id: companyId }),
        })
        assert.equal(ensured.status, 200, await ensured.clone().text())
        const { new_access_token: token } = await ensured.json() as { new_access_token: string }
        const status = (await fetch(`${gateway.url}/api/v1/ingest/status`, { headers: { authorization: `Bearer ${token}` } })).status
        assert.equal(status, 200, `attempt ${i}: the new token was refused (${status})`)
      }
    })
  })
}
