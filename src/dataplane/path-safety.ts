import { GatewayError } from '../errors.js'
import type { Exchange } from './exchange.js'
import type { Step } from './step.js'

const unsafePath = (): GatewayError => new GatewayError('UNSAFE_PATH', 400, 'Invalid request path.')

/**
 * Encoded separators and NUL are refused outright: upstream frameworks disagree on whether to decode
 * them before routing (the root of most proxy path-confusion bugs). `%25` followed by one of them is a
 * double encoding meant for a second decoder, so it is refused as well.
 */
const FORBIDDEN_ENCODINGS = /%(?:2f|5c|00)|%25(?:2e|2f|5c|00)/i

/** True when the dot segments of `relative` (RFC 3986 §5.2.4) never climb above its starting point. */
function staysInside (relative: string): boolean {
  let depth = 0
  for (const segment of relative.split('/')) {
    if (segment === '..') {
      depth -= 1
      if (depth < 0) return false
    } else if (segment !== '.' && segment !== '') {
      depth += 1
    }
  }
  return true
}

/**
 * The upstream request target for `rawUrl` (the request line's target, undecoded) on a route mounted at
 * `prefix`: `upstreamPath` replaces the prefix, the rest of the path and the query string are kept byte for
 * byte. Throws a 400 when the target could leave the prefix once decoded, or is not in origin-form.
 */
export function upstreamTarget (rawUrl: string, prefix: string, exact: boolean, upstreamPath: string): string {
  if (rawUrl.charCodeAt(0) !== 47 /* '/' */ || !rawUrl.startsWith(prefix)) throw unsafePath()
  const queryStart = rawUrl.indexOf('?', prefix.length)
  const rest = queryStart === -1 ? rawUrl.slice(prefix.length) : rawUrl.slice(prefix.length, queryStart)
  if (rest !== '' && (exact || rest.charCodeAt(0) !== 47)) throw unsafePath()
  if (rest.includes('%') || rest.includes('.') || rest.includes('\\')) {
    if (FORBIDDEN_ENCODINGS.test(rest) || rest.includes('\\')) throw unsafePath()
    let decoded: string
    try {
      decoded = decodeURIComponent(rest)
    } catch {
      throw unsafePath()
    }
    if (decoded.includes('\0') || decoded.includes('\\') || !staysInside(decoded)) throw unsafePath()
  }
  return upstreamPath + (queryStart === -1 ? rest : rest + rawUrl.slice(queryStart))
}

/** The step: the upstream target of the request, or 400 for a path that could leave its prefix. */
export const pathSafety: Step = {
  name: 'path safety',
  run (exchange: Exchange) {
    const { route, upstreamPrefix } = exchange.match
    try {
      exchange.target = upstreamTarget(exchange.forwardedUrl, route.path, route.exact, upstreamPrefix)
      return undefined
    } catch (error) {
      return error as GatewayError
    }
  },
}
