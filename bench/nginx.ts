import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, makeTempDir, spawnPinned, waitForHttp, type Child } from './processes.js'

/** The nginx binary, or the reason target (d) is skipped. */
export function findNginx (): { path: string } | { skip: string } {
  for (const path of ['/usr/sbin/nginx', '/usr/bin/nginx']) {
    try {
      execFileSync(path, ['-v'], { stdio: 'ignore' })
      return { path }
    } catch { /* not there */ }
  }
  return { skip: 'nginx not installed (apt-get install -y nginx-light)' }
}

/** A plain reverse proxy: 1 worker, upstream keep-alive, no buffering either way (like the Node proxies). */
function config (dir: string, port: number, upstreamPort: number): string {
  const asRoot = process.getuid?.() === 0
  return `${asRoot ? 'user nobody nogroup;' : ''}
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
  upstream backend {
    server 127.0.0.1:${upstreamPort};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 200m;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    }
  }
}
`
}

export async function startNginx (binary: string, upstreamPort: number): Promise<{ child: Child, url: string }> {
  const dir = makeTempDir('atenex-bench-nginx-')
  chmodSync(dir, 0o755) // the worker runs as nobody when we are root
  mkdirSync(join(dir, 'tmp'), { mode: 0o777 })
  const port = await freePort()
  writeFileSync(join(dir, 'nginx.conf'), config(dir, port, upstreamPort))
  const child = spawnPinned('nginx', 0, binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')])
  const url = `http://127.0.0.1:${port}`
  await waitForHttp(`${url}/`, 10_000, child)
  return { child, url }
}
