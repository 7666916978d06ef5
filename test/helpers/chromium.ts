import { existsSync } from 'node:fs'
import { requireService } from './services.js'

/** The browser the browser tests drive (Debian's package; TEST_CHROMIUM points elsewhere). */
export const CHROMIUM = process.env.TEST_CHROMIUM ?? '/usr/bin/chromium'

/** The `skip` option of a browser suite: the reason locally; in CI also a failing test naming Chromium. */
export const chromiumSkip = (): string | false =>
  requireService('Chromium', existsSync(CHROMIUM) ? false : `${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does)`)
