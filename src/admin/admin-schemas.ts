import { emailField, newPasswordField, uuidField } from '../auth/user-schemas.js'
import { BODY_ERRORS, errorResponses } from '../api/error-responses.js'
import { noNul, patternRule } from '../api/validation.js'

/** JSON schemas of the admin API: they validate requests and generate its OpenAPI description. */
const security = [{ bearerAuth: [] }]
const tags = ['admin']

/** Every admin route sits behind AdminAuth: a token, an active user, a company, the `admin` role. */
const ADMIN_ERRORS = [401, { 403: 'No company in the token, or the administrator role is missing' }] as const

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
  operationId: 'adminStats',
  summary: 'Active companies and their active user counts',
  response: {
    ...errorResponses(...ADMIN_ERRORS),
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
  operationId: 'createCompany',
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
  response: { ...errorResponses(...ADMIN_ERRORS, { 409: 'A company with this name already exists' }, ...BODY_ERRORS), 201: companySchema },
} as const

export const selectCompaniesSchema = {
  tags,
  security,
  operationId: 'selectCompanies',
  summary: 'Active companies, by name (for selectors)',
  response: {
    ...errorResponses(...ADMIN_ERRORS),
    200: { type: 'array', items: { type: 'object', required: ['id', 'name'], properties: { id: uuidField, name: { type: 'string' } } } },
  },
} as const

export const createUserSchema = {
  tags,
  security,
  operationId: 'createUser',
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
    ...errorResponses(...ADMIN_ERRORS, { 400: 'Unknown or inactive company', 409: 'A user with this email already exists' }, ...BODY_ERRORS),
    201: userSchema,
  },
} as const

export const listUsersSchema = {
  tags,
  security,
  operationId: 'listUsersByCompany',
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
    ...errorResponses(...ADMIN_ERRORS, { 404: 'Company not found' }, 422),
    200: { type: 'array', items: userSchema },
  },
} as const

export const revokeSessionsSchema = {
  tags,
  security,
  summary: 'End every session of a user: their tokens are refused on every replica within a second',
  operationId: 'revokeUserSessions',
  params: { type: 'object', required: ['userId'], properties: { userId: uuidField } },
  response: {
    ...errorResponses(401, 403, 404, 422, 429),
    200: { type: 'object', required: ['user_id', 'revoked_sessions'], properties: { user_id: uuidField, revoked_sessions: { type: 'integer' } } },
  },
} as const

export const updateUserSchema = {
  tags,
  security,
  summary: 'Deactivate (or reactivate) a user, or change their roles',
  operationId: 'updateUser',
  params: { type: 'object', required: ['userId'], properties: { userId: uuidField } },
  body: {
    type: 'object',
    additionalProperties: false,
    properties: {
      is_active: { type: 'boolean' },
      roles: { type: 'array', minItems: 1, items: { type: 'string', enum: ['user', 'admin'] } },
    },
  },
  response: { ...errorResponses(...ADMIN_ERRORS, { 404: 'User not found' }, ...BODY_ERRORS, 429), 200: userSchema },
} as const
