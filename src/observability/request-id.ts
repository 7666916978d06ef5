import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** An incoming X-Request-ID is kept only if it is safe to echo and log (SPEC §4). */
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export function requestIdFor (req: IncomingMessage): string {
  const incoming = req.headers['x-request-id']
  return typeof incoming === 'string' && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
}
