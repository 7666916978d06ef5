import type { IncomingHttpHeaders } from 'node:http'
import type { Identity } from '../auth/identity.js'
import type { OutgoingHeaders } from '../upstream/upstream-exchange.js'

/**
 * Never forwarded as received. Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection; `host` and
 * the forwarding/tracing headers are rewritten by us; `expect` is answered by this server, not the upstream.
 */
const NOT_FORWARDED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authorization', 'proxy-authenticate', 'http2-settings',
  'host', 'expect', 'forwarded', 'via', 'x-request-id', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host',
  'traceparent',
])

/** Credentials for the gateway itself: the backends trust the identity headers instead. */
const CREDENTIALS = new Set(['authorization', 'cookie', 'x-api-key'])

/**
 * Headers a backend or a framework in front of it might take for identity or routing, which only the gateway
 * may speak for: forwarded-for variants, URL overrides, and user or tenant names of other conventions.
 */
const IDENTITY_LOOKALIKES = new Set([
  'x-real-ip', 'x-client-ip', 'true-client-ip', 'cf-connecting-ip', 'x-cluster-client-ip', 'x-forwarded', 'forwarded-for',
  'x-forwarded-port', 'x-forwarded-server', 'x-forwarded-prefix', 'x-forwarded-uri', 'x-original-url', 'x-original-uri', 'x-rewrite-url',
  'remote-user', 'x-remote-user', 'x-user', 'x-userid', 'x-tenant-id', 'x-tenant', 'x-auth-type', 'x-auth-user', 'x-authenticated-user',
])

/**
 * Identity headers only the gateway may set, in any letter case (SPEC §2.4), and names with an underscore:
 * WSGI/ASGI servers (the platform's FastAPI services) fold `X_User_ID` into `X-User-ID`, so a client's
 * underscore spelling would arrive beside ours (nginx drops them too: underscores_in_headers off).
 */
function isReserved (lowerName: string): boolean {
  return lowerName.includes('_') || lowerName.startsWith('x-user-') || lowerName.startsWith('x-company-') ||
    lowerName.startsWith('x-gateway-') || lowerName.startsWith('x-atenex-') || IDENTITY_LOOKALIKES.has(lowerName)
}

/** RFC 9110 §7.6.1: a proxy removes every header the Connection header names. */
export function connectionNominated (connection: string | string[] | undefined): Set<string> | undefined {
  // The usual value names only a hop-by-hop header, dropped anyway: no set to build per message.
  if (connection === undefined || connection === 'keep-alive') return undefined
  const names = new Set<string>()
  for (const value of Array.isArray(connection) ? connection : [connection]) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase()
      if (name) names.add(name)
    }
  }
  return names
}

export interface ForwardContext {
  readonly requestId: string
  /** The address of the connection's peer: the entry this hop adds to X-Forwarded-For. */
  readonly peerIp: string
  readonly protocol: string
  /** The Host the client asked for (the load balancer's X-Forwarded-Host when it is trusted). */
  readonly host: string | undefined
  /** A trusted proxy is in front: its X-Forwarded-For is extended; otherwise the client's is replaced. */
  readonly behindProxy: boolean
  /** Undefined when OpenTelemetry's undici instrumentation injects the traceparent itself. */
  readonly traceparent: string | undefined
  readonly identity: Identity | null
  /** The auth-service route passes the client's own credentials through; identity routes do not. */
  readonly forwardCredentials: boolean
}

export const VIA = '1.1 atenex-gateway'

/**
 * The headers sent upstream: everything the client sent minus what a client must not choose, then the
 * gateway's own headers. Stripping happens before injection, so no client value can survive beside ours.
 * Node has already lower-cased the names of `incoming`.
 */
export function upstreamRequestHeaders (incoming: IncomingHttpHeaders, context: ForwardContext): OutgoingHeaders {
  const nominated = connectionNominated(incoming.connection)
  const out: OutgoingHeaders = {}
  for (const name in incoming) {
    const value = incoming[name]
    if (value === undefined || NOT_FORWARDED.has(name) || isReserved(name)) continue
    if (nominated?.has(name)) continue
    if (!context.forwardCredentials && CREDENTIALS.has(name)) continue
    out[name] = value
  }

  const priorForwardedFor = context.behindProxy ? incoming['x-forwarded-for'] : undefined
  out['x-forwarded-for'] = priorForwardedFor && !nominated?.has('x-forwarded-for') ? `${priorForwardedFor}, ${context.peerIp}` : context.peerIp
  out['x-forwarded-proto'] = context.protocol
  if (context.host !== undefined) out['x-forwarded-host'] = context.host
  const priorVia = incoming.via
  out.via = priorVia && !nominated?.has('via') ? `${priorVia}, ${VIA}` : VIA
  out['x-request-id'] = context.requestId
  if (context.traceparent !== undefined) out.traceparent = context.traceparent

  const identity = context.identity
  if (identity) {
    // A person's token or a machine's key: backends tell them apart.
    out['x-auth-type'] = identity.authType
    out['x-user-id'] = identity.userId
    if (identity.companyId) out['x-company-id'] = identity.companyId
    if (identity.email) out['x-user-email'] = identity.email
    out['x-user-roles'] = identity.roles.join(',')
  }
  return out
}

/**
 * Hop-by-hop headers of the upstream's response are not ours to pass on; CORS belongs to the gateway's
 * policy, and the request id and timing are the gateway's own.
 */
const NOT_RETURNED = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'x-request-id', 'x-process-time',
])

type GatewayResponseHeaders = Record<string, string | number | string[] | undefined>

/**
 * The response head for the client, as the flat name/value list `writeHead` takes: the upstream's raw headers
 * (bytes kept as they came: latin1 in, latin1 out) as above, then the gateway's own, which replace any the
 * upstream sent under the same name (`Vary` is merged instead). The gateway's names are lower-case.
 */
export function clientResponseHeaders (upstream: readonly (Buffer | string)[], gateway: GatewayResponseHeaders = {}): string[] {
  const out: string[] = []
  let connection: string | undefined
  for (let i = 0; i < upstream.length; i += 2) {
    const name = upstream[i]?.toString('latin1') ?? ''
    const lower = name.toLowerCase()
    const value = upstream[i + 1]?.toString('latin1') ?? ''
    if (lower === 'connection') connection = connection === undefined ? value : `${connection}, ${value}`
    if (NOT_RETURNED.has(lower) || lower.startsWith('access-control-')) continue
    if (lower !== 'vary' && Object.hasOwn(gateway, lower) && gateway[lower] !== undefined) continue
    out.push(name, value)
  }
  const nominated = connectionNominated(connection)
  if (nominated) removeNominated(out, nominated)
  for (const name in gateway) {
    const value = gateway[name]
    if (value === undefined) continue
    if (name === 'vary') {
      mergeVary(out, String(value))
      continue
    }
    if (Array.isArray(value)) for (const item of value) out.push(name, item)
    else out.push(name, typeof value === 'number' ? String(value) : value)
  }
  return out
}

function removeNominated (headers: string[], nominated: ReadonlySet<string>): void {
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if (nominated.has((headers[i] as string).toLowerCase())) headers.splice(i, 2)
  }
}

/** Our Vary names folded into the upstream's Vary field(s), if any, each name once. */
function mergeVary (headers: string[], ours: string): void {
  const names: string[] = []
  let first = -1
  for (let i = headers.length - 2; i >= 0; i -= 2) {
    if ((headers[i] as string).toLowerCase() !== 'vary') continue
    names.unshift(...(headers[i + 1] as string).split(','))
    if (first !== -1) headers.splice(first, 2)
    first = i
  }
  if (first === -1) {
    headers.push('vary', ours)
    return
  }
  const merged = names.map((name) => name.trim()).filter(Boolean)
  for (const name of ours.split(',').map((part) => part.trim())) {
    if (!merged.some((existing) => existing.toLowerCase() === name.toLowerCase())) merged.push(name)
  }
  headers[first + 1] = merged.join(', ')
}
