import type { IncomingHttpHeaders } from 'node:http'

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
