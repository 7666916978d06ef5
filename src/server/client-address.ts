import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import proxyAddr from '@fastify/proxy-addr'

/** Who is calling, by the same rules as Fastify's `request.ip` and `request.protocol` for a boolean trustProxy. */
export interface ClientAddress {
  ip (req: IncomingMessage): string
  protocol (req: IncomingMessage): string
}

const trustAll = (): boolean => true

function lastEntry (value: string | string[]): string {
  const joined = Array.isArray(value) ? value.join(',') : value
  const comma = joined.lastIndexOf(',')
  return (comma === -1 ? joined : joined.slice(comma + 1)).trim()
}

export function clientAddress (trustProxy: boolean): ClientAddress {
  const ownProtocol = (req: IncomingMessage): string => (req.socket as TLSSocket).encrypted ? 'https' : 'http'
  if (!trustProxy) {
    return { ip: (req) => req.socket.remoteAddress ?? '', protocol: ownProtocol }
  }
  return {
    ip: (req) => proxyAddr(req, trustAll),
    protocol: (req) => {
      const forwarded = req.headers['x-forwarded-proto']
      return forwarded ? lastEntry(forwarded) : ownProtocol(req)
    },
  }
}
