import type { FastifyInstance } from 'fastify'
import { errorResponses } from '../api/error-responses.js'

/** A dependency check; resolves true when healthy. Never throws to the caller. */
export type HealthCheck = () => Promise<boolean>

/** Probes run often (every few seconds, per replica): one real check per this interval, at most. */
const HEALTH_CACHE_MS = 1500

type CheckResults = Record<string, 'ok' | 'failed'>

export class Health {
  readonly #checks = new Map<string, HealthCheck>()
  #draining = false
  #cached: { at: number, results: Promise<CheckResults> } | undefined

  addCheck (name: string, check: HealthCheck): void {
    this.#checks.set(name, check)
    this.#cached = undefined
  }

  /** Readiness turns 503 at once, before the server stops accepting (SIGTERM). */
  startDraining (): void {
    this.#draining = true
  }

  get draining (): boolean {
    return this.#draining
  }

  async results (): Promise<CheckResults> {
    const now = Date.now()
    if (!this.#cached || now - this.#cached.at > HEALTH_CACHE_MS) {
      this.#cached = { at: now, results: this.#runChecks() }
    }
    return this.#cached.results
  }

  async #runChecks (): Promise<CheckResults> {
    const entries = await Promise.all([...this.#checks].map(async ([name, check]) => {
      const ok = await check().catch(() => false)
      return [name, ok ? 'ok' : 'failed'] as const
    }))
    return Object.fromEntries(entries)
  }
}

const HEALTH_BODY = {
  type: 'object',
  required: ['status', 'service', 'checks'],
  properties: {
    status: { type: 'string', enum: ['healthy', 'unhealthy'] },
    service: { type: 'string' },
    checks: { type: 'object', additionalProperties: { type: 'string', enum: ['ok', 'failed'] } },
  },
} as const

export function registerHealthRoutes (app: FastifyInstance, health: Health, serviceName: string): void {
  const report = async (): Promise<{ status: 200 | 503, body: object }> => {
    const checks = await health.results()
    const healthy = !health.draining && Object.values(checks).every((result) => result === 'ok')
    return { status: healthy ? 200 : 503, body: { status: healthy ? 'healthy' : 'unhealthy', service: serviceName, checks } }
  }
  const healthSchema = (operationId: string) => ({
    schema: {
      tags: ['health'],
      operationId,
      summary: 'Dependency health (database, upstream pools, draining)',
      security: [],
      response: {
        ...errorResponses(),
        200: { description: 'Healthy', ...HEALTH_BODY },
        503: { description: 'Unhealthy: a check failed, or the process is draining', ...HEALTH_BODY },
      },
    },
  })

  app.get('/health', healthSchema('health'), async (_request, reply) => {
    const { status, body } = await report()
    return reply.code(status).send(body)
  })
  app.get('/health/ready', healthSchema('readiness'), async (_request, reply) => {
    const { status, body } = await report()
    return reply.code(status).send(body)
  })
  const liveSchema = {
    tags: ['health'],
    operationId: 'liveness',
    summary: 'Process liveness (no dependency checks)',
    security: [],
    response: {
      ...errorResponses(),
      200: { type: 'object', required: ['status', 'service', 'pid'], properties: { status: { type: 'string' }, service: { type: 'string' }, pid: { type: 'integer' } } },
    },
  }
  app.get('/health/live', { schema: liveSchema }, async () => ({ status: 'alive', service: serviceName, pid: process.pid }))
}
