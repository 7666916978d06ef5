import { emailField } from '../auth/user-schemas.js'

/** JSON schemas of the admin API: they validate requests and generate its OpenAPI description. */
const security = [{ bearerAuth: [] }]
const tags = ['admin']
const uuid = { type: 'string', format: 'uuid' } as const

export const companySchema = {
  type: 'object',
  properties: { id: uuid, name: { type: 'string' }, created_at: { type: 'string', format: 'date-time' } },
} as const

export const userSchema = {
  type: 'object',
  properties: {
    id: uuid,
    email: { type: 'string' },
    name: { type: ['string', 'null'] },
    company_id: { type: ['string', 'null'] },
    roles: { type: 'array', items: { type: 'string' } },
    is_active: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
  },
} as const

export const statsSchema = {
  tags,
  security,
  summary: 'Active companies and their active user counts',
  response: {
    200: {
      type: 'object',
      properties: {
        company_count: { type: 'integer' },
        users_per_company: {
          type: 'array',
          items: { type: 'object', properties: { company_id: uuid, name: { type: 'string' }, user_count: { type: 'integer' } } },
        },
      },
    },
  },
} as const

export const createCompanySchema = {
  tags,
  security,
  summary: 'Create a company',
  body: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: { name: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' } },
  },
  response: { 201: companySchema },
} as const

export const selectCompaniesSchema = {
  tags,
  security,
  summary: 'Active companies, by name (for selectors)',
  response: { 200: { type: 'array', items: { type: 'object', properties: { id: uuid, name: { type: 'string' } } } } },
} as const

export const createUserSchema = {
  tags,
  security,
  summary: 'Create a user in a company',
  body: {
    type: 'object',
    required: ['email', 'password', 'company_id'],
    additionalProperties: false,
    properties: {
      email: emailField,
      password: { type: 'string', minLength: 8, maxLength: 1024 },
      name: { type: ['string', 'null'], maxLength: 200 },
      company_id: uuid,
      roles: { type: 'array', minItems: 1, items: { type: 'string', enum: ['user', 'admin'] } },
    },
  },
  response: { 201: userSchema },
} as const

export const listUsersSchema = {
  tags,
  security,
  summary: 'Users of a company, newest first',
  params: { type: 'object', required: ['companyId'], properties: { companyId: uuid } },
  querystring: {
    type: 'object',
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
      offset: { type: 'integer', minimum: 0, default: 0 },
    },
  },
  response: { 200: { type: 'array', items: userSchema } },
} as const

export const revokeSessionsSchema = {
  tags,
  security,
  summary: 'End every session of a user: their tokens are refused on every replica within a second',
  params: { type: 'object', required: ['userId'], properties: { userId: uuid } },
  response: { 200: { type: 'object', properties: { user_id: uuid, revoked_sessions: { type: 'integer' } } } },
} as const
