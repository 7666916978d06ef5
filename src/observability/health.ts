import type { FastifyInstance } from 'fastify'

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

export function registerHealthRoutes (app: FastifyInstance, health: Health, serviceName: string): void {
  const report = async (): Promise<{ status: number, body: object }> => {
    const checks = await health.results()
    const healthy = !health.draining && Object.values(checks).every((result) => result === 'ok')
    return { status: healthy ? 200 : 503, body: { status: healthy ? 'healthy' : 'unhealthy', service: serviceName, checks } }
  }
  const healthSchema = { schema: { tags: ['health'], summary: 'Dependency health (database, upstream pools, draining)' } }

  app.get('/health', healthSchema, async (_request, reply) => {
    const { status, body } = await report()
    return reply.code(status).send(body)
  })
  app.get('/health/ready', healthSchema, async (_request, reply) => {
    const { status, body } = await report()
    return reply.code(status).send(body)
  })
  app.get('/health/live', { schema: { tags: ['health'], summary: 'Process liveness (no dependency checks)' } },
    async () => ({ status: 'alive', service: serviceName, pid: process.pid }))
}
