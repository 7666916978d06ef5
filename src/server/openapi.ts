import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../config.js'

/**
 * OpenAPI 3 from the same route schemas that validate the bodies, at /openapi.json with a browsable UI
 * at /docs (what FastAPI users expect). Must be registered before the routes it describes.
 */
export async function registerOpenApi (app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: config.projectName,
        version: '1.0.0',
        description: 'The single entry point of the Atenex platform. Proxied prefixes: /api/v1/ingest/*, /api/v1/query/*, ' +
          '/api/v1/documents/stats (StrictAuth) and /api/v1/auth/* (when an auth service is configured).',
      },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
