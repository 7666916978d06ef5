import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** What a stand-in upstream saw of one request. */
export interface Received {
  readonly method: string
  readonly url: string
  readonly headers: IncomingMessage['headers']
  /** Name/value pairs exactly as sent, duplicates and letter case included. */
  readonly rawHeaders: string[]
  readonly bodyBytes: number
  readonly bodySha256: string
  readonly body: Buffer
  readonly aborted: boolean
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, received: Received) => void

export interface StandInUpstream {
  readonly url: string
  readonly received: Received[]
  /** Requests whose head arrived, and body bytes read so far over all requests: live, before `received` records one. */
  readonly progress: { heads: number, bodyBytes: number }
  /** Replaced per test; the default echoes what it received as JSON. */
  handler: UpstreamHandler
  /** When set, called as soon as headers arrive, before the body is read (for streaming tests). */
  onHeaders: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined
  last (): Received
  close (): Promise<void>
}

export const echo: UpstreamHandler = (_req, res, received) => {
  res.setHeader('content-type', 'application/json')
  res.end(JSON.stringify({ method: received.method, url: received.url, headers: received.headers, bodyBytes: received.bodyBytes, bodySha256: received.bodySha256 }))
}

/** Bodies up to this size are also kept whole; larger ones only hashed and counted. */
const KEEP_BODY_BYTES = 1024 * 1024

/** A recording HTTP server on an ephemeral loopback port. */
export async function startUpstream (handler: UpstreamHandler = echo): Promise<StandInUpstream> {
  const upstream: StandInUpstream = {
    url: '',
    received: [],
    progress: { heads: 0, bodyBytes: 0 },
    handler,
    onHeaders: undefined,
    last () {
      const last = this.received.at(-1)
      if (!last) throw new Error('the upstream received no request')
      return last
    },
    close: async () => { await new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }) },
  }
  const server: Server = createServer((req, res) => {
    upstream.progress.heads += 1
    if (upstream.onHeaders?.(req, res)) return
    const hash = createHash('sha256')
    const kept: Buffer[] = []
    let bytes = 0
    let aborted = false
    req.on('data', (chunk: Buffer) => {
      hash.update(chunk)
      bytes += chunk.length
      upstream.progress.bodyBytes += chunk.length
      if (bytes <= KEEP_BODY_BYTES) kept.push(chunk)
    })
    const finish = (): void => {
      const received: Received = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyBytes: bytes,
        bodySha256: hash.digest('hex'),
        body: Buffer.concat(kept),
        aborted,
      }
      upstream.received.push(received)
      if (!aborted) upstream.handler(req, res, received)
    }
    req.on('end', finish)
    req.on('aborted', () => { aborted = true })
    req.on('error', () => { aborted = true; finish() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  Object.assign(upstream, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
  return upstream
}

/** A port nothing listens on (bound, then released). */
export async function closedPortUrl (): Promise<string> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as AddressInfo).port
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}
