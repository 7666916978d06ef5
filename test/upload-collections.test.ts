import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, test } from 'node:test'
import { startBuiltGateway, type BuiltGateway } from './helpers/built-gateway.js'
import { cliMissing } from './helpers/cli.js'
import { writeRoutesFile } from './helpers/routes-file.js'
import { startUpstream, type StandInUpstream } from './helpers/upstream.js'

// Each socket read of a request body is a fresh Buffer, counted by V8 as external memory. By default V8 starts a
// major collection whenever external memory has grown by a fixed step since the last one, however little of it is
// still alive, so a gateway streaming uploads marked its whole heap every ~20-50 MiB of bodies (bench/README.md).
// The entry point has V8 count external memory in its global heap limit instead (src/cli/index.ts). The built
// binary, as it ships.

const UPLOADS = 512
const UPLOAD_BYTES = 1024 * 1024
const CONCURRENT = 4
/**
 * Without the flag: 26-29 major collections for these 512 MiB (four runs); with it 1-11 (fourteen runs, three of
 * them beside traffic.test.ts, three in full suites). The bound sits between the two, with room on both sides.
 */
const MAX_MAJOR_COLLECTIONS = 18

function upload (url: string, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/bulk/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', 'content-length': body.length } }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode ?? 0))
    })
    req.on('error', reject)
    // Written as a client streams a file: 64 KiB at a time.
    for (let at = 0; at < body.length; at += 65536) req.write(body.subarray(at, at + 65536))
    req.end()
  })
}

async function majorCollections (url: string): Promise<number> {
  const response = await fetch(`${url}/metrics`)
  assert.equal(response.status, 200)
  const text = await response.text()
  assert.match(text, /^# TYPE nodejs_gc_duration_seconds histogram$/m, 'the metrics report collections')
  // A kind's series appears with its first collection.
  return Number(/^nodejs_gc_duration_seconds_count\{kind="major"\} (\d+)$/m.exec(text)?.[1] ?? 0)
}

describe('streamed uploads and the garbage collector (the built binary)', { skip: cliMissing }, () => {
  let upstream: StandInUpstream
  let gateway: BuiltGateway
  let url: string

  before(async () => {
    upstream = await startUpstream((_req, res) => { res.end('{}') })
    gateway = await startBuiltGateway({
      // One client sends them all: its per-address budget must not be what answers.
      GATEWAY_RATE_LIMIT_IP_PER_MINUTE: '100000',
      GATEWAY_ROUTES_FILE: writeRoutesFile([{ name: 'bulk', path: '/bulk', upstream: upstream.url, upstreamPath: '/bulk', auth: 'none', maxBodyBytes: 2 * UPLOAD_BYTES }]),
    })
    url = gateway.url
  })
  after(async () => {
    await gateway.close()
    await upstream.close()
  })

  test(`${UPLOADS} uploads of 1 MiB cost at most ${MAX_MAJOR_COLLECTIONS} major collections, not one every ~20 MiB of bodies`, async (t) => {
    const body = Buffer.alloc(UPLOAD_BYTES, 7)
    // Warm-up: startup's own collections are behind us.
    for (let i = 0; i < 16; i++) assert.equal(await upload(url, body), 200)
    const before = await majorCollections(url)
    let next = 0
    const statuses: number[] = []
    await Promise.all(Array.from({ length: CONCURRENT }, async () => {
      while (next < UPLOADS) {
        next++
        statuses.push(await upload(url, body))
      }
    }))
    const collections = await majorCollections(url) - before
    t.diagnostic(`${collections} major collections`)
    assert.deepEqual([...new Set(statuses)], [200], 'every upload was answered 200')
    assert.ok(collections <= MAX_MAJOR_COLLECTIONS, `${collections} major collections during ${UPLOADS} MiB of uploads`)
  })
})
