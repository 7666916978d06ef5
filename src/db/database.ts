/**
 * The one small interface every repository runs on, whether the server is a real PostgreSQL (pg) or the
 * embedded PGlite. Parameters are always positional ($1, $2, ...): no SQL is ever built from input.
 */
export interface QueryResult<Row> {
  readonly rows: Row[]
  readonly rowCount: number
}

export interface Queryable {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>
}

export interface Database extends Queryable {
  readonly kind: 'postgres' | 'embedded'
  /** Statements sent so far: read by tests and metrics to prove the steady-state request path sends none. */
  readonly queryCount: number
  /** Runs `work` in one transaction on one connection. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>
  /**
   * Calls `onMessage` for each NOTIFY on `channel`, and `onReconnect` whenever the listening connection
   * was lost and re-established (notifications may have been missed in between).
   */
  listen(channel: string, onMessage: (payload: string) => void, onReconnect: () => void): Promise<void>
  ping(): Promise<boolean>
  close(): Promise<void>
}
