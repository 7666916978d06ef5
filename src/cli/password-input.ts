import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { UsageError } from './command.js'

/** Ctrl-C at the prompt: the shell's convention for "interrupted" (128 + SIGINT). */
const EXIT_INTERRUPTED = 130

async function readLine (): Promise<string | undefined> {
  const lines = createInterface({ input: process.stdin })
  const [line] = await Promise.race([once(lines, 'line'), once(lines, 'close').then(() => [undefined])]) as (string | undefined)[]
  lines.close()
  return line
}

function prompt (label: string): Promise<string> {
  process.stderr.write(label)
  const stdin = process.stdin
  stdin.setRawMode(true)
  stdin.resume()
  return new Promise((resolve) => {
    let password = ''
    const onData = (data: Buffer): void => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          stdin.setRawMode(false)
          stdin.pause()
          stdin.off('data', onData)
          process.stderr.write('\n')
          resolve(password)
          return
        }
        if (char === '\u0003') process.exit(EXIT_INTERRUPTED)
        password = char === '\u007f' ? password.slice(0, -1) : password + char
      }
    }
    stdin.on('data', onData)
  })
}

/**
 * A password from standard input (its first line) or, in a terminal, a hidden prompt: never from argv,
 * where `ps` and shell history would see it. Nothing at all is a usage error of its own.
 */
export async function readPassword (label = 'Password: '): Promise<string> {
  const password = process.stdin.isTTY ? await prompt(label) : await readLine()
  if (password === undefined || password === '') {
    throw new UsageError(process.stdin.isTTY
      ? 'no password given'
      : 'no password on standard input: pipe it in (e.g. `printf \'%s\\n\' "$PASSWORD" | atenex-gateway ...`), or run the command in a terminal to be prompted')
  }
  return password
}

/** A secret that may be left empty (sso-set: empty keeps the stored one), read the same way as a password. */
export async function readOptionalSecret (label: string): Promise<string> {
  return (process.stdin.isTTY ? await prompt(label) : await readLine()) ?? ''
}
