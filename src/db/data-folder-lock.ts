import { closeSync, linkSync, openSync, readFileSync, renameSync, statSync, unlinkSync, utimesSync, writeSync } from 'node:fs'
import { hostname, uptime } from 'node:os'
import { basename, resolve } from 'node:path'

/**
 * PGlite takes no lock on its folder: two processes on one folder each keep their own copy of the
 * database in memory, and whatever the second one writes is lost when the first one next writes (or the
 * other way round). So the process that opens an embedded folder first holds `<folder>.lock`, and any
 * other process is refused until it lets go.
 *
 * The lock file names its holder (pid, host, command, start time). A lock is stale, and taken over, when
 * its holder is gone: on this host, its pid no longer runs (or the machine booted since); from another
 * host (a container sharing a volume, where pids are not comparable), its holder stopped touching it
 * for longer than STALE_AFTER_MS.
 */
export interface LockHolder {
  readonly pid: number
  readonly hostname: string
  readonly command: string
  readonly startedAt: string
}

const HEARTBEAT_MS = 10_000
const STALE_AFTER_MS = 30_000
/** Slack between the kernel's boot time and the clock, so a lock taken just after boot is never judged older. */
const BOOT_SLACK_MS = 60_000

export class DataFolderInUseError extends Error {
  override name = 'DataFolderInUseError'

  constructor (readonly folder: string, readonly lockFile: string, readonly holder: LockHolder | undefined) {
    const who = holder === undefined
      ? 'another process'
      : `${holder.command} (pid ${holder.pid}${holder.hostname === hostname() ? '' : ` on host ${holder.hostname}`}, since ${holder.startedAt})`
    super([
      `the embedded database folder ${folder} is in use by ${who}.`,
      'Only one process may open it at a time: a second one would not see the server\'s data, and what it wrote would be lost.',
      'While the server runs, use its admin API instead (POST /api/v1/admin/companies, POST /api/v1/admin/users), or stop the server and run this command again.',
      holder !== undefined && holder.hostname !== hostname()
        ? `(The lock ${lockFile} frees itself ${STALE_AFTER_MS / 1000} s after its holder stops.)`
        : `(Lock file: ${lockFile}.)`,
    ].join('\n'))
  }
}

/** Folders this process holds: opening one twice in one process would be two databases on one folder too. */
const held = new Set<string>()

function readHolder (path: string): { holder: LockHolder | undefined, touchedMs: number } | undefined {
  try {
    const touchedMs = statSync(path).mtimeMs
    try {
      return { holder: JSON.parse(readFileSync(path, 'utf8')) as LockHolder, touchedMs }
    } catch {
      return { holder: undefined, touchedMs }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

function isStale ({ holder, touchedMs }: { holder: LockHolder | undefined, touchedMs: number }): boolean {
  const sameHost = holder !== undefined && holder.hostname === hostname()
  if (!sameHost) return Date.now() - touchedMs > STALE_AFTER_MS
  // Our own pid, but not in `held`: a previous run of this container or machine that died with the lock.
  if (holder.pid === process.pid) return true
  if (Date.parse(holder.startedAt) < Date.now() - uptime() * 1000 - BOOT_SLACK_MS) return true
  return !isRunning(holder.pid)
}

/**
 * Moves a stale lock aside and deletes it, unless another process replaced it with a live one in the
 * meantime (then it is put back). Returns whether the path is free to create.
 */
function breakStaleLock (path: string): boolean {
  const aside = `${path}.${process.pid}.stale`
  try {
    renameSync(path, aside)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true
    throw error
  }
  const moved = readHolder(aside)
  if (moved !== undefined && !isStale(moved)) {
    try {
      linkSync(aside, path)
    } catch {
      // Someone else created a lock meanwhile: theirs stands, and so the path is not free either way.
    }
    unlinkSync(aside)
    return false
  }
  unlinkSync(aside)
  return true
}

function createLockFile (path: string, holder: LockHolder): boolean {
  try {
    const fd = openSync(path, 'wx', 0o644)
    try {
      writeSync(fd, JSON.stringify(holder))
    } finally {
      closeSync(fd)
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/** Takes the lock of an embedded database folder, or throws DataFolderInUseError naming its holder. Returns the release. */
export function lockDataFolder (dataDir: string): () => void {
  const folder = resolve(dataDir)
  const path = `${folder}.lock`
  const me: LockHolder = {
    pid: process.pid,
    hostname: hostname(),
    command: ['atenex-gateway', process.argv[2] ?? basename(process.argv[1] ?? 'node')].join(' '),
    startedAt: new Date().toISOString(),
  }
  if (held.has(folder)) throw new DataFolderInUseError(folder, path, me)
  let taken = createLockFile(path, me)
  if (!taken) {
    const current = readHolder(path)
    if (current !== undefined && !isStale(current)) throw new DataFolderInUseError(folder, path, current.holder)
    taken = breakStaleLock(path) && createLockFile(path, me)
    if (!taken) throw new DataFolderInUseError(folder, path, readHolder(path)?.holder)
  }
  held.add(folder)
  const heartbeat = setInterval(() => {
    const now = new Date()
    try {
      utimesSync(path, now, now)
    } catch {
      // Deleted by hand: nothing to keep fresh; the process still owns the folder until it exits.
    }
  }, HEARTBEAT_MS)
  heartbeat.unref()
  const release = (): void => {
    if (!held.delete(folder)) return
    clearInterval(heartbeat)
    process.off('exit', release)
    try {
      if (readHolder(path)?.holder?.pid === me.pid) unlinkSync(path)
    } catch {
      // Already gone.
    }
  }
  // A process.exit() without closing the database (a second Ctrl-C) still frees the folder.
  process.on('exit', release)
  return release
}
