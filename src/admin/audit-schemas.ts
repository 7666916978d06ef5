import { AUDIT_EVENT_TYPES } from '../audit/events.js'
import { uuidField } from '../auth/user-schemas.js'
import { errorResponses } from '../api/error-responses.js'

/** JSON schemas of the audit trail's admin routes: they validate the query and generate the OpenAPI description. */
const security = [{ bearerAuth: [] }]
const tags = ['audit']
const ADMIN_ERRORS = [401, { 403: 'No company in the token, or the administrator role is missing' }, 422, 429] as const
const nullableString = { type: ['string', 'null'] } as const

/** An event id: the cursor is the last id of a page, as a decimal string (treat it as opaque). Within bigint's range. */
const idText = { type: 'string', pattern: '^[1-9][0-9]{0,17}$' } as const

export const auditEventSchema = {
  type: 'object',
  required: ['id', 'occurred_at', 'type', 'actor', 'target', 'company_id', 'client_ip', 'user_agent', 'request_id', 'details', 'prev_hash', 'hash'],
  properties: {
    id: { type: 'string', description: 'Increasing with insertion order.' },
    occurred_at: { type: 'string', format: 'date-time' },
    type: { type: 'string', enum: AUDIT_EVENT_TYPES },
    actor: { type: 'object', required: ['type', 'id'], properties: { type: { type: 'string', enum: ['user', 'api_key', 'system'] }, id: nullableString } },
    target: { anyOf: [{ type: 'null' }, { type: 'object', required: ['type', 'id'], properties: { type: { type: 'string' }, id: { type: 'string' } } }] },
    company_id: { anyOf: [uuidField, { type: 'null' }] },
    client_ip: nullableString,
    user_agent: nullableString,
    request_id: nullableString,
    details: { type: 'object', additionalProperties: true },
    prev_hash: { type: 'string' },
    hash: { type: 'string', description: 'SHA-256 over prev_hash and this event\'s fields (see README, Audit trail).' },
  },
} as const

const filters = {
  company_id: uuidField,
  type: { type: 'string', enum: AUDIT_EVENT_TYPES },
  actor: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9._:@-]+$', description: 'A user\'s or API key\'s id.' },
  since: { type: 'string', format: 'date-time', description: 'Events at or after this time.' },
  until: { type: 'string', format: 'date-time', description: 'Events before this time.' },
} as const

export const MAX_PAGE = 1000

export const listAuditSchema = {
  tags,
  security,
  operationId: 'listAuditEvents',
  summary: 'Audit events, newest first (keyset pagination: pass next_cursor back as cursor)',
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { ...filters, cursor: idText, limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: 100 } },
  },
  response: {
    ...errorResponses(...ADMIN_ERRORS),
    200: {
      type: 'object',
      required: ['events', 'next_cursor'],
      properties: { events: { type: 'array', items: auditEventSchema }, next_cursor: { anyOf: [idText, { type: 'null' }] } },
    },
  },
} as const

export const exportAuditSchema = {
  tags,
  security,
  operationId: 'exportAuditEvents',
  summary: 'Audit events as NDJSON (one event per line, oldest first), streamed: for a SIEM',
  querystring: { type: 'object', additionalProperties: false, properties: { ...filters, after: idText } },
  response: {
    ...errorResponses(...ADMIN_ERRORS),
    200: { description: 'One JSON event per line, oldest first, up to the newest event when the export began.', content: { 'application/x-ndjson': { schema: auditEventSchema } } },
  },
} as const

const chainReport = {
  type: 'object',
  required: ['company_id', 'rows', 'head_id', 'head_hash', 'broken'],
  properties: {
    company_id: { anyOf: [uuidField, { type: 'null' }] },
    rows: { type: 'integer' },
    head_id: nullableString,
    head_hash: nullableString,
    broken: { anyOf: [{ type: 'null' }, { type: 'object', required: ['id', 'reason'], properties: { id: { type: 'string' }, reason: { type: 'string', enum: ['altered', 'broken_link'] } } }] },
  },
} as const

export const verifyAuditSchema = {
  tags,
  security,
  operationId: 'verifyAuditChains',
  summary: 'Recompute the hash chains (each company\'s, and the platform\'s) and report the first broken link of each',
  querystring: { type: 'object', additionalProperties: false, properties: { company_id: uuidField } },
  response: {
    ...errorResponses(...ADMIN_ERRORS),
    200: { type: 'object', required: ['ok', 'chains'], properties: { ok: { type: 'boolean' }, chains: { type: 'array', items: chainReport } } },
  },
} as const
