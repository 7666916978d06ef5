import { parseArgs, type ParseArgsConfig } from 'node:util'

export type Options = NonNullable<ParseArgsConfig['options']>

export interface Command {
  readonly summary: string
  readonly usage: string
  readonly options: Options
  run (values: Record<string, string | boolean | undefined>): Promise<void>
}

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export function parseCommandArgs (command: Command, argv: string[]): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ args: argv, options: { ...command.options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false })
    return values as Record<string, string | boolean | undefined>
  } catch (error) {
    throw new UsageError((error as Error).message)
  }
}

export function requireOption (values: Record<string, string | boolean | undefined>, name: string): string {
  const value = values[name]
  if (typeof value !== 'string' || value.trim() === '') throw new UsageError(`--${name} is required`)
  return value.trim()
}

/** One line per long step, so an operator sees what the command is doing. */
export async function step<T> (label: string, work: () => Promise<T>): Promise<T> {
  process.stderr.write(`${label}… `)
  try {
    const result = await work()
    process.stderr.write('done\n')
    return result
  } catch (error) {
    process.stderr.write('failed\n')
    throw error
  }
}
