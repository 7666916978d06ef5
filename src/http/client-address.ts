import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import proxyAddr from '@fastify/proxy-addr'
import type { TrustedProxies } from '../config.js'

/** proxy-addr's trust rule: is the `hop`-th address from the socket (0 = the socket's peer) a proxy of ours? */
export type TrustRule = (address: string, hop: number) => boolean

/** Who is calling, the same for every road a request takes (the gateway's own API, the data plane, WebSocket). */
export interface ClientAddress {
  /** Fastify's `trustProxy`, so that its `request.ip` follows the same rule. */
  readonly trust: TrustRule | false
  ip (req: IncomingMessage): string
  protocol (req: IncomingMessage): string
  /** The Host the client asked for (X-Forwarded-Host when the peer is a trusted proxy). */
  host (req: IncomingMessage): string | undefined
}

function lastEntry (value: string | string[]): string {
  const joined = Array.isArray(value) ? value.join(',') : value
  const comma = joined.lastIndexOf(',')
  return (comma === -1 ? joined : joined.slice(comma + 1)).trim()
}

export function trustRule (trusted: TrustedProxies): TrustRule | false {
  if (trusted === false) return false
  if (typeof trusted === 'number') return (_address, hop) => hop < trusted
  return proxyAddr.compile([...trusted])
}

/**
 * The client address is the rightmost X-Forwarded-For entry that was not added by a trusted proxy (nginx's
 * set_real_ip_from + real_ip_recursive, Envoy's xff_num_trusted_hops): entries left of it were written by the
 * client, who can put anything there. With no trusted proxy it is the socket's peer, and forwarded headers are
 * ignored.
 */
export function clientAddress (trusted: TrustedProxies): ClientAddress {
  const trust = trustRule(trusted)
  const ownProtocol = (req: IncomingMessage): string => (req.socket as TLSSocket).encrypted ? 'https' : 'http'
  if (trust === false) {
    return { trust, ip: (req) => req.socket.remoteAddress ?? '', protocol: ownProtocol, host: (req) => req.headers.host }
  }
  const peerTrusted = (req: IncomingMessage): boolean => trust(req.socket.remoteAddress ?? '', 0)
  return {
    trust,
    ip: (req) => proxyAddr(req, trust),
    protocol: (req) => {
      const forwarded = req.headers['x-forwarded-proto']
      return forwarded && peerTrusted(req) ? lastEntry(forwarded) : ownProtocol(req)
    },
    host: (req) => {
      const forwarded = req.headers['x-forwarded-host']
      return forwarded && peerTrusted(req) ? lastEntry(forwarded) : req.headers.host
    },
  }
}
