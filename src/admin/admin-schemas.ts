import { emailField, newPasswordField, uuidField } from '../auth/user-schemas.js'
import { noNul, patternRule } from '../server/validation.js'

/** JSON schemas of the admin API: they validate requests and generate its OpenAPI description. */
const security = [{ bearerAuth: [] }]
const tags = ['admin']

/** The largest page offset: PostgreSQL's OFFSET is a bigint, and anything this far is past every company. */
export const MAX_OFFSET = 2_147_483_647

export const companySchema = {
  type: 'object',
  required: ['id', 'name', 'created_at'],
  properties: { id: uuidField, name: { type: 'string' }, created_at: { type: 'string', format: 'date-time' } },
} as const

export const userSchema = {
  type: 'object',
  required: ['id', 'email', 'name', 'company_id', 'roles', 'is_active', 'created_at'],
  properties: {
    id: uuidField,
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
      required: ['company_count', 'users_per_company'],
      properties: {
        company_count: { type: 'integer' },
        users_per_company: {
          type: 'array',
          items: { type: 'object', properties: { company_id: uuidField, name: { type: 'string' }, user_count: { type: 'integer' } } },
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
    properties: {
      name: {
        type: 'string',
        minLength: 1,
        maxLength: 200,
        ...patternRule('^\\s*[^\\s\\u0000][^\\u0000]*$', 'String must contain a visible character and no NUL (\\u0000) characters'),
      },
    },
  },
  response: { 201: companySchema },
} as const

export const selectCompaniesSchema = {
  tags,
  security,
  summary: 'Active companies, by name (for selectors)',
  response: {
    200: { type: 'array', items: { type: 'object', required: ['id', 'name'], properties: { id: uuidField, name: { type: 'string' } } } },
  },
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
      password: newPasswordField,
      name: { type: ['string', 'null'], maxLength: 200, ...noNul },
      company_id: uuidField,
      roles: { type: 'array', minItems: 1, items: { type: 'string', enum: ['user', 'admin'] } },
    },
  },
  response: {
    201: userSchema,
  },
} as const

export const listUsersSchema = {
  tags,
  security,
  summary: 'Users of a company, newest first',
  params: { type: 'object', required: ['companyId'], properties: { companyId: uuidField } },
  querystring: {
    type: 'object',
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
      offset: { type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 },
    },
  },
  response: {
    200: { type: 'array', items: userSchema },
  },
} as const
