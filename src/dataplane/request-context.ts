import { GatewayError } from '../errors.js'
import { requestIdFor } from '../observability/request-id.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

/** The first step: who is asking, under which request id and trace, and the gateway's own answer headers (CORS). */
export const requestContext: Step = {
  name: 'request context',
  run (exchange: Exchange) {
    const { req, context } = exchange
    exchange.requestId = requestIdFor(req)
    exchange.trace = context.tracing.start(req, req.method ?? 'GET', exchange.match.template)
    exchange.clientIp = context.client.ip(req)
    exchange.responseHeaders = context.cors(req.headers.origin)
    exchange.responseHeaders['x-request-id'] = exchange.requestId
    return undefined
  },
}

export const shuttingDown = (): GatewayError =>
  new GatewayError('SERVICE_UNAVAILABLE', 503, 'Service is shutting down.', { headers: { connection: 'close', 'retry-after': '1' } })

/** While the process drains on SIGTERM, new proxied requests are refused (the load balancer retries elsewhere). */
export function draining (isDraining: () => boolean): Step {
  return { name: 'draining', run: () => isDraining() ? shuttingDown() : undefined }
}
