import type { IncomingHttpHeaders, Server } from 'node:http'
import type { Pool } from 'undici'

/** Hop-by-hop headers (RFC 9110 §7.6.1) plus `host`: never forwarded by a proxy, in either direction. */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host'])

export type Headers = Record<string, string | string[]>

/** Copies `incoming` minus hop-by-hop headers and anything `drop` rejects. */
export function forwardable (incoming: IncomingHttpHeaders, drop?: (name: string) => boolean): Headers {
  const out: Headers = {}
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined || HOP_BY_HOP.has(name) || drop?.(name)) continue
    out[name] = value
  }
  return out
}

export function hasBody (headers: IncomingHttpHeaders): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0')
}

/** The port the baseline should bind: PORT, or an ephemeral one. */
export const listenPort = (): number => Number(process.env.PORT ?? 0)

export function upstreamUrl (): string {
  const url = process.env.UPSTREAM_URL
  if (!url) throw new Error('UPSTREAM_URL is required')
  return url
}

/** Listens on PORT (or an ephemeral port), prints it for the harness, and closes server and pool on SIGTERM. */
export function serveBaseline (server: Server, pool: Pool): void {
  server.keepAliveTimeout = 75_000
  server.listen(listenPort(), '127.0.0.1', () => {
    const address = server.address()
    process.stdout.write(`LISTENING ${typeof address === 'object' && address ? address.port : 0}\n`)
  })
  process.on('SIGTERM', () => {
    server.closeAllConnections()
    server.close(() => { void pool.close().then(() => process.exit(0)) })
  })
}
