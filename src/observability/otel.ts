import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { registerInstrumentations } from '@opentelemetry/instrumentation'
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg'
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BatchSpanProcessor, NodeTracerProvider, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-node'
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions'
import { hashedCompany, type RequestTracing } from './tracing.js'

/**
 * OpenTelemetry with the official SDK: a server span per request (continuing the caller's W3C trace), the
 * undici instrumentation for the upstream call (it injects traceparent, so the upstream joins the trace)
 * and the pg instrumentation for database queries. Loaded only when tracing is configured.
 */
export function openTelemetryTracing (exporter: SpanExporter, options: { serviceName: string, batch: boolean }): RequestTracing {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors: [options.batch ? new BatchSpanProcessor(exporter) : new SimpleSpanProcessor(exporter)],
  })
  provider.register({ propagator: new W3CTraceContextPropagator() })
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations: [new UndiciInstrumentation(), new PgInstrumentation()] })
  const tracer = provider.getTracer('atenex-gateway')

  return {
    enabled: true,
    start: (req, method, path) => {
      const parent = propagation.extract(context.active(), req.headers)
      const span = tracer.startSpan(method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'url.path': path } }, parent)
      return { traceId: span.spanContext().traceId, traceparent: undefined, span, context: trace.setSpan(parent, span) }
    },
    end: ({ span }, { method, route, status, upstream, companyId }) => {
      if (!span) return
      span.updateName(`${method} ${route}`)
      span.setAttribute('http.route', route)
      span.setAttribute('http.response.status_code', status)
      if (upstream) span.setAttribute('gateway.upstream', upstream)
      if (companyId) span.setAttribute('gateway.company_hash', hashedCompany(companyId))
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
      span.end()
    },
    shutdown: async () => {
      unregister()
      await provider.shutdown()
    },
  }
}
