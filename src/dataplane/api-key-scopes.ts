import { GatewayError } from '../errors.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

const READS = new Set(['GET', 'HEAD', 'OPTIONS'])

export const scopeMissing = (): GatewayError =>
  new GatewayError('FORBIDDEN', 403, 'API key not allowed on this route.', { headers: { 'www-authenticate': 'Bearer error="insufficient_scope"' } })

/**
 * An API key opens only what its scopes name: each route's read scope for GET, HEAD and OPTIONS, its write
 * scope for the other methods (the route table says which). People's tokens are not scoped.
 */
export const apiKeyScopes: Step = {
  name: 'api key scopes',
  run (exchange: Exchange) {
    const scopes = exchange.identity?.scopes
    if (scopes === null || scopes === undefined) return undefined
    const { route } = exchange.match
    const needed = READS.has(exchange.req.method ?? 'GET') ? route.readScope : route.writeScope
    return needed !== undefined && scopes.includes(needed) ? undefined : scopeMissing()
  },
}
