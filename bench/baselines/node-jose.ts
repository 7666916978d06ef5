/**
 * Baseline (b2) "node:http+undici+jose": the least a Node gateway can do on the full path — verify an HS256
 * token with jose (key imported once as a CryptoKey), strip client identity headers, inject ours, and
 * stream both ways through an undici Pool. No database check, no framework.
 */
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { pipeline } from 'node:stream'
import { jwtVerify } from 'jose'
import { Pool, type Dispatcher } from 'undici'
import { forwardable, hasBody, serveBaseline, upstreamUrl } from './headers.js'

const secret = process.env.JWT_SECRET
if (!secret) throw new Error('JWT_SECRET is required')
const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])
const pool = new Pool(upstreamUrl(), { connections: 200, pipelining: 1 })

const isClientIdentity = (name: string): boolean =>
  name === 'authorization' || name === 'cookie' || name.startsWith('x-user-') || name.startsWith('x-company-') || name.startsWith('x-gateway-')

function fail (res: ServerResponse, status: number, detail: string): void {
  const body = JSON.stringify({ detail })
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
  const authorization = req.headers.authorization
  if (!authorization?.startsWith('Bearer ')) return fail(res, 401, 'Not authenticated')
  let claims
  try {
    claims = (await jwtVerify(authorization.slice(7), key, { algorithms: ['HS256'], clockTolerance: 30 })).payload
  } catch {
    return fail(res, 401, 'Token validation failed')
  }
  if (typeof claims.sub !== 'string' || typeof claims.company_id !== 'string') return fail(res, 403, 'Company association missing')

  const headers = forwardable(req.headers, isClientIdentity)
  headers['x-user-id'] = claims.sub
  headers['x-company-id'] = claims.company_id
  if (typeof claims.email === 'string') headers['x-user-email'] = claims.email
  headers['x-request-id'] = randomUUID()

  const abort = new AbortController()
  res.once('close', () => { if (!res.writableFinished) abort.abort() })
  let response
  try {
    response = await pool.request({
      method: req.method as Dispatcher.HttpMethod,
      path: req.url ?? '/',
      headers,
      body: hasBody(req.headers) ? req : undefined,
      signal: abort.signal,
    })
  } catch {
    return fail(res, 502, 'Error communicating with upstream service.')
  }
  // The client may have gone while the upstream answered (wrk closes its connections at the end of a run):
  // pipeline() throws at once on a destroyed response, which would take the whole process down.
  if (res.destroyed) { response.body.on('error', () => undefined).destroy(); return }
  res.writeHead(response.statusCode, forwardable(response.headers))
  pipeline(response.body, res, () => { /* a client gone mid-body is not an error here */ })
}

const server = createServer((req, res) => { void handle(req, res) })
serveBaseline(server, pool)
