import { createHash } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { Context, Span } from '@opentelemetry/api'
import { childTraceparent } from './trace-context.js'

/** What the gateway knows of one request's trace, fixed when the request arrives. */
export interface RequestTrace {
  readonly traceId: string
  /** The traceparent to send upstream; undefined when the OpenTelemetry undici instrumentation injects its own. */
  readonly traceparent: string | undefined
  /** With OpenTelemetry on: the gateway's server span and the context to run the upstream call in. */
  readonly span?: Span
  readonly context?: Context
}

export interface RequestTracing {
  readonly enabled: boolean
  start (req: IncomingMessage, method: string, path: string): RequestTrace
  end (trace: RequestTrace, attributes: { method: string, route: string, status: number, upstream: string | undefined, companyId: string | null | undefined }): void
  shutdown (): Promise<void>
}

/** The tenant is recorded as a hash: traces leave the cluster, tenant ids should not. */
export const hashedCompany = (companyId: string): string => createHash('sha256').update(companyId).digest('hex').slice(0, 16)

/**
 * Without an OTLP endpoint nothing of OpenTelemetry is loaded: the gateway still continues or starts a W3C
 * trace (a new parent span id, the caller's trace id) and forwards it, and logs the trace id.
 */
export const w3cOnlyTracing: RequestTracing = {
  enabled: false,
  start: (req) => {
    const traceparent = childTraceparent(req.headers.traceparent)
    return { traceId: traceparent.slice(3, 35), traceparent }
  },
  end: () => undefined,
  shutdown: async () => undefined,
}

const TRACE = Symbol('atenex.requestTrace')

/**
 * The tracing the configuration asks for: OpenTelemetry over OTLP/HTTP when an endpoint is set (imported
 * only then), the W3C-only default otherwise.
 */
export async function tracingFor (otel: { endpoint: string | undefined, serviceName: string }): Promise<RequestTracing> {
  if (otel.endpoint === undefined) return w3cOnlyTracing
  const [{ openTelemetryTracing }, { OTLPTraceExporter }] = await Promise.all([import('./otel.js'), import('@opentelemetry/exporter-trace-otlp-http')])
  return openTelemetryTracing(new OTLPTraceExporter({ url: otel.endpoint }), { serviceName: otel.serviceName, batch: true })
}

/** The trace started for a raw request (by the logger factory, first thing in Fastify's lifecycle). */
export function traceOf (req: IncomingMessage): RequestTrace | undefined {
  return (req as IncomingMessage & { [TRACE]?: RequestTrace })[TRACE]
}

export function startTrace (tracing: RequestTracing, req: IncomingMessage): RequestTrace {
  const trace = tracing.start(req, req.method ?? 'GET', (req.url ?? '/').split('?')[0] ?? '/')
  ;(req as IncomingMessage & { [TRACE]?: RequestTrace })[TRACE] = trace
  return trace
}
