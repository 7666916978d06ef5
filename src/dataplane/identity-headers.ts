import type { Exchange } from './exchange.js'
import { upstreamRequestHeaders } from './forward-headers.js'
import type { Step } from './step.js'

/** The step: strip what the client must not choose, then the gateway's identity and forwarding headers. */
export const upstreamHeaders: Step = {
  name: 'upstream headers',
  run (exchange: Exchange) {
    const { req, context, match } = exchange
    exchange.upstreamHeaders = upstreamRequestHeaders(req.headers, {
      requestId: exchange.requestId,
      peerIp: req.socket.remoteAddress ?? '',
      protocol: context.client.protocol(req),
      host: context.client.host(req),
      behindProxy: context.client.trust !== false,
      traceparent: exchange.trace?.traceparent,
      identity: exchange.identity,
      forwardCredentials: match.route.auth === 'none',
    })
    return undefined
  },
}
