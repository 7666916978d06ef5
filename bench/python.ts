import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { freePort, spawnPinned, waitForHttp, type Child } from './processes.js'

/** bench/.venv, preferred over the python3 on PATH when it exists. The harness never installs anything. */
const VENV_PYTHON = fileURLToPath(new URL('./.venv/bin/python', import.meta.url))
const BASELINES_DIR = fileURLToPath(new URL('./baselines', import.meta.url))
const MODULES = ['fastapi', 'httpx', 'uvicorn', 'jwt'] as const
const ENABLE = 'python3 -m venv bench/.venv && bench/.venv/bin/pip install fastapi uvicorn httpx pyjwt'

/** The interpreter for target e (with its versions), or the reason target e is skipped. */
export function findPython (): { path: string, versions: string } | { skip: string } {
  const path = existsSync(VENV_PYTHON) ? VENV_PYTHON : 'python3'
  const probe = `import sys, ${MODULES.join(', ')}; print(sys.version.split()[0], ${MODULES.map((m) => `getattr(${m}, '__version__', '?')`).join(', ')})`
  try {
    const out = execFileSync(path, ['-c', probe], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 }).trim()
    const [python, ...versions] = out.split(/\s+/)
    return { path, versions: `python ${python}, ${MODULES.map((m, i) => `${m} ${versions[i] ?? '?'}`).join(', ')}` }
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim().split('\n').pop() ?? ''
    const why = (error as NodeJS.ErrnoException).code === 'ENOENT' ? `${path} not found` : `${path} cannot import ${MODULES.join(', ')}${stderr ? ` (${stderr})` : ''}`
    return { skip: `${why}; to enable: ${ENABLE}` }
  }
}

/**
 * The Python seed gateway shape (baselines/python_gateway.py): uvicorn, 1 worker, no reload, log level warning.
 * taskset execs python and uvicorn does not fork with --workers 1, so child.pid is the server itself.
 */
export async function startPythonGateway (python: string, cpu: number, upstreamUrl: string, secret: string, env: NodeJS.ProcessEnv): Promise<{ child: Child, url: string }> {
  const port = await freePort()
  const args = [
    '-m', 'uvicorn', 'python_gateway:app', '--app-dir', BASELINES_DIR,
    '--host', '127.0.0.1', '--port', String(port), '--workers', '1', '--log-level', 'warning',
  ]
  const child = spawnPinned('python-gateway', cpu, python, args, {
    env: { ...env, UPSTREAM_URL: upstreamUrl, JWT_SECRET: secret, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1' },
    cwd: BASELINES_DIR,
  })
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/health`, 30_000, child)
  return { child, url }
}
