import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { AggregatorRegistry, Histogram, Registry } from 'prom-client'
import { SeriesHistogram } from '../src/observability/series-histogram.js'

const BUCKETS = [0.001, 0.005, 0.01, 0.1, 1]
const labelValue = fc.constantFrom('/api/v1/ingest/*', '/api/v1/query/*', 'GET', 'POST', 200, '200', 404, 'a "quoted"\nname')
const observation = fc.tuple(fc.oneof(fc.double({ min: 0, max: 3, noNaN: true }), fc.constantFrom(0, 0.001, 0.005, 1, 2)), labelValue, labelValue, labelValue)

/** The same observations in a stock prom-client histogram and in ours, each in a registry of its own. */
function bothWays (observations: readonly [number, string | number, string | number, string | number][]): { stock: Registry, ours: Registry } {
  const stock = new Registry()
  const ours = new Registry()
  const config = { name: 'latency_seconds', help: 'Latency', labelNames: ['route', 'method', 'status'] as const, buckets: BUCKETS }
  const reference = new Histogram({ ...config, labelNames: [...config.labelNames], registers: [stock] })
  const fast = new SeriesHistogram({ ...config, registers: [ours] })
  for (const [value, route, method, status] of observations) {
    reference.observe({ route, method, status }, value)
    fast.record(value, route, method, status)
  }
  return { stock, ours }
}

describe('SeriesHistogram (pure)', () => {
  test('its exposition is prom-client\'s own, line for line, for any observations', async () => {
    await fc.assert(fc.asyncProperty(fc.array(observation, { maxLength: 60 }), async (observations) => {
      const { stock, ours } = bothWays(observations)
      assert.equal(await ours.metrics(), await stock.metrics())
    }), { numRuns: 300 })
  })

  test('workers\' histograms aggregate in the cluster\'s registry as prom-client\'s do', async () => {
    const first = bothWays([[0.002, 'r', 'GET', 200], [2, 'r', 'GET', 200]])
    const second = bothWays([[0.002, 'r', 'GET', 200], [0.05, 'r', 'POST', 502]])
    const aggregate = async (pick: 'stock' | 'ours'): Promise<string> =>
      await AggregatorRegistry.aggregate([await first[pick].getMetricsAsJSON(), await second[pick].getMetricsAsJSON()]).metrics()
    assert.equal(await aggregate('ours'), await aggregate('stock'))
    assert.match(await aggregate('ours'), /latency_seconds_count\{route="r",method="GET",status="200"\} 3/)
  })

  test('reset empties it; a value that is not a finite number is not counted', async () => {
    const registry = new Registry()
    const histogram = new SeriesHistogram({ name: 'h', help: 'h', labelNames: ['upstream'], buckets: BUCKETS, registers: [registry] })
    histogram.record(0.5, 'ingest')
    histogram.record(Number.NaN, 'ingest')
    assert.match(await registry.metrics(), /h_count\{upstream="ingest"\} 1/)
    registry.resetMetrics()
    assert.doesNotMatch(await registry.metrics(), /h_count/)
  })
})
