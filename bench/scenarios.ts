import type { TargetId } from './targets.js'

export type ScenarioId = 'small' | 'big' | 'upload' | 'sse' | 'ws' | 'login'
export const SCENARIO_IDS: readonly ScenarioId[] = ['small', 'big', 'upload', 'sse', 'ws', 'login']

/** Paths the stand-in upstream understands (see upstream.ts); every target forwards them unchanged. */
export interface LoadScenario {
  readonly kind: 'load'
  readonly id: Exclude<ScenarioId, 'sse' | 'ws'>
  readonly title: string
  readonly path: string
  readonly method: 'GET' | 'POST'
  readonly connections: number
  /** Which prepared body file to POST. */
  readonly body?: 'upload' | 'login'
  readonly contentType?: string
  /** Send the target's bearer token (false for login). */
  readonly auth: boolean
  readonly timeoutS: number
  /** Only these targets (default: all). */
  readonly only?: readonly TargetId[]
  /** Name of the throughput unit in the table. */
  readonly unit: string
  /** Measure at least this long, whatever --duration says (slow requests). */
  readonly minDurationS?: number
}

export interface SseScenario {
  readonly kind: 'sse'
  readonly id: 'sse'
  readonly title: string
  readonly path: string
  readonly samples: number
}

/** Echoed messages over open WebSockets, driven from the harness (ws-probe.ts). */
export interface WebSocketScenario {
  readonly kind: 'ws'
  readonly id: 'ws'
  readonly title: string
  readonly path: string
  readonly connections: number
  readonly only: readonly TargetId[]
  readonly unit: string
}

export type Scenario = LoadScenario | SseScenario | WebSocketScenario
/** What the report's throughput table needs of a scenario. */
export type ThroughputScenario = LoadScenario | WebSocketScenario

export const UPLOAD_BYTES = 1024 * 1024

export function scenarios (sseSamples: number): Record<ScenarioId, Scenario> {
  return {
    small: { kind: 'load', id: 'small', title: 'small JSON GET', path: '/api/v1/ingest/status', method: 'GET', connections: 50, auth: true, timeoutS: 10, unit: 'req/s' },
    big: { kind: 'load', id: 'big', title: '64 KiB GET', path: '/api/v1/ingest/big', method: 'GET', connections: 50, auth: true, timeoutS: 10, unit: 'req/s' },
    upload: {
      kind: 'load',
      id: 'upload',
      title: '1 MiB upload',
      path: '/api/v1/ingest/upload',
      method: 'POST',
      connections: 16,
      body: 'upload',
      contentType: 'application/octet-stream',
      auth: true,
      timeoutS: 20,
      unit: 'req/s',
    },
    sse: { kind: 'sse', id: 'sse', title: 'SSE first event', path: '/api/v1/ingest/sse', samples: sseSamples },
    // The proxies without a WebSocket road of their own (b, b2 as written, e) are left out.
    ws: { kind: 'ws', id: 'ws', title: 'WebSocket echo', path: '/api/v1/ingest/ws', connections: 50, only: ['a', 'c', 'ck', 'c0'], unit: 'msgs/s' },
    // bcrypt cost 12 on one core bounds this; 8 connections keep the libuv pool (4 threads) busy.
    login: {
      kind: 'load',
      id: 'login',
      title: 'login burst',
      path: '/api/v1/users/login',
      method: 'POST',
      connections: 8,
      body: 'login',
      contentType: 'application/json',
      auth: false,
      timeoutS: 30,
      only: ['c', 'c0'],
      unit: 'logins/s',
      minDurationS: 5,
    },
  }
}
