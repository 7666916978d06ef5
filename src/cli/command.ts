import { parseArgs } from 'node:util'

/** Exit codes of every command: 2 means nothing was attempted (fix the command line or the settings). */
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** The value's placeholder in the help, e.g. `<email>`. */
  readonly value?: string
  readonly description: string
  /** Shown in the help; the command applies it itself. */
  readonly default?: string
  readonly required?: boolean
  /** Parsed (to refuse it with a reason) but not listed in the help. */
  readonly hidden?: boolean
}

export type Values = Record<string, string | boolean | undefined>

/** Which settings a command reads from the environment, so its help can say so. */
export type SettingsRead = 'all' | 'database' | 'none'

export interface Command {
  readonly summary: string
  /** What follows `atenex-gateway ` in the usage line. */
  readonly usage: string
  /** More about the command, printed under the summary by --help. */
  readonly details?: string
  readonly options: Readonly<Record<string, OptionSpec>>
  readonly settings: SettingsRead
  run (values: Values): Promise<void>
}

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** The command ran and could not do its work (a duplicate name, an unknown user): its message alone, exit code 1. */
export class CommandError extends Error {
  override name = 'CommandError'
}

const HELP_OPTION: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help and exit.' }

export function parseCommandArgs (command: Command, argv: string[]): Values {
  const options = Object.fromEntries(Object.entries({ ...command.options, help: HELP_OPTION })
    .map(([name, { type, short }]) => [name, short === undefined ? { type } : { type, short }]))
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as Values
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

export function requireOption (values: Values, name: string): string {
  const value = values[name]
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`)
  return value.trim()
}

const SETTINGS_NOTE: Record<SettingsRead, string | undefined> = {
  all: 'Settings: every GATEWAY_* variable (and PORT), from the environment or ./.env.',
  database: 'Settings: only the database ones (GATEWAY_POSTGRES_*, or GATEWAY_DATA_DIR for the embedded database), from the environment or ./.env.',
  none: undefined,
}

export const CONFIGURATION_POINTER = 'Every setting, its default and meaning: the "Configuration" table of README.md; `atenex-gateway check-config` prints the effective values.'

/** Two columns: the flags, and what they mean (with the default and whether they are required). */
export function optionLines (options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries({ ...options, help: HELP_OPTION }).filter(([, spec]) => spec.hidden !== true).map(([name, spec]) => {
    const flag = `${spec.short === undefined ? '    ' : `-${spec.short}, `}--${name}${spec.value === undefined ? '' : ` ${spec.value}`}`
    const notes = [spec.required ? 'Required.' : '', spec.default === undefined ? '' : `Default: ${spec.default}.`].filter(Boolean).join(' ')
    return [flag, notes === '' ? spec.description : `${spec.description} ${notes}`] as const
  })
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}${text}`)
}

export function commandHelp (command: Command): string {
  const settings = SETTINGS_NOTE[command.settings]
  return [
    `Usage: atenex-gateway ${command.usage}`,
    '',
    command.summary,
    ...(command.details === undefined ? [] : ['', command.details]),
    '',
    'Options:',
    ...optionLines(command.options),
    ...(settings === undefined ? [] : ['', settings, CONFIGURATION_POINTER]),
    '',
  ].join('\n')
}

/** One line per long step, on stderr, so an operator sees what the command is doing while stdout stays its result. */
export async function step<T> (label: string, work: () => Promise<T>, outcome: (result: T) => string = () => 'done'): Promise<T> {
  process.stderr.write(`${label}… `)
  try {
    const result = await work()
    process.stderr.write(`${outcome(result)}\n`)
    return result
  } catch (error) {
    process.stderr.write('failed\n')
    throw error
  }
}
