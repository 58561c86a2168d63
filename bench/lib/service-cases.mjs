// The service cases of `npm run bench`: latency from an insert's commit to the message reaching a consumer while
// `flushmany --repeat` runs (polling every second vs --listen), at a steady insert rate; and what --metrics-port
// costs in throughput. PostgreSQL. Settings: BENCH_LATENCY_SECONDS (15), BENCH_LATENCY_RATES (50,1000).
import amqplib from 'amqplib'
import os from 'node:os'
import path from 'node:path'
import {DataSource} from 'typeorm'
import {waitUntilQuiet} from './machine-cpu.mjs'
import {seed} from './database.mjs'
import {assertSucceeded, cliArgs, runMeasured, startMeasured} from './processes.mjs'
import {QUEUE, RABBITMQ_URL, TABLE, connectionOptions} from './settings.mjs'
import {fixed, markdownTable, median, ratio, round, thousands} from './stats.mjs'

const DATA_SOURCE = path.join('bench', 'fixture', 'data-source.mjs')
const METRICS_PORT = 19_464
const childEnv = {BENCH_DIALECT: 'postgres', SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL}
const delay = (milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds))

export const latencySettings = () => ({
  seconds: Number(process.env.BENCH_LATENCY_SECONDS ?? 15),
  rates: (process.env.BENCH_LATENCY_RATES ?? '50,1000').split(',').map(Number),
  modes: [
    {name: 'polling', label: 'polling, --repeat 1', args: ['--repeat', '1']},
    {name: 'listen', label: '--listen, --repeat 5', args: ['--repeat', '5', '--listen']},
  ],
})

/** p-th percentile (nearest rank) of sorted values. */
function percentile(sorted, p) {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]
}

/** Installs or removes the NOTIFY trigger through signalbus's own setup statements (as `signalbus setup` would). */
async function withTriggers(install) {
  const {SignalBus, listenTriggerStatements, dropListenTriggerStatements} = await import('../../dist/index.js')
  const {BenchSignalSchema} = await import('../fixture/bench-signal.mjs')
  const dataSource = new DataSource({...connectionOptions('postgres'), entities: [BenchSignalSchema]})
  await dataSource.initialize()
  try {
    const models = new SignalBus(dataSource).getSignalModels()
    const statements = install ? listenTriggerStatements(dataSource, models) : dropListenTriggerStatements(dataSource, models)
    for (const statement of statements) await dataSource.query(statement)
  } finally {
    await dataSource.destroy()
  }
}

async function waitForReady(child) {
  const deadline = performance.now() + 30_000
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error('the flusher exited before it was ready')
    try {
      if ((await fetch(`http://127.0.0.1:${METRICS_PORT}/readyz`)).status === 200) return
    } catch {
      // not listening yet
    }
    await delay(50)
  }
  throw new Error('the flusher did not become ready within 30 s')
}

/**
 * One latency run: the flusher runs in `mode`; this process inserts `rate` rows per second (one INSERT per 10 ms
 * tick, autocommit, RETURNING id) for `seconds` and consumes the queue; latency = consumer receipt − the moment the
 * INSERT's commit returned, both on this process's clock. Receipt comes after the broker's confirm, so this is an
 * upper bound on commit → confirm.
 */
export async function latencyRun(db, broker, mode, rate, seconds) {
  await broker.reset()
  await seed(db, 0)
  if (mode.name === 'listen') await withTriggers(true)
  const connection = await amqplib.connect(RABBITMQ_URL)
  const channel = await connection.createChannel()
  const committedAt = new Map()
  const latencies = []
  let duplicates = 0
  const seen = new Set()
  await channel.consume(
    QUEUE,
    (message) => {
      const received = performance.now()
      if (!message) return
      const id = String(message.properties.messageId)
      if (seen.has(id)) duplicates++
      seen.add(id)
      const at = committedAt.get(id)
      if (at !== undefined) latencies.push(received - at)
    },
    {noAck: true},
  )
  await waitUntilQuiet(os.cpus().length, {maxMs: 5000})
  const flusher = startMeasured(cliArgs('flushmany', '-d', DATA_SOURCE, '--metrics-port', String(METRICS_PORT), ...mode.args), {env: childEnv})
  let inserted = 0
  try {
    await waitForReady(flusher.child)
    const started = performance.now()
    const tickMs = 10
    for (let tick = 1; performance.now() - started < seconds * 1000; tick++) {
      const due = Math.floor(((performance.now() - started) / 1000) * rate) - inserted
      if (due > 0) {
        const rows = await db.query(
          `INSERT INTO ${TABLE} (payload) SELECT 'latency ' || g FROM generate_series(1, $1::int) AS g RETURNING id`,
          [due],
        )
        const now = performance.now()
        for (const row of rows) committedAt.set(String(row.id), now)
        inserted += rows.length
      }
      const next = started + tick * tickMs
      await delay(Math.max(0, next - performance.now()))
    }
    const deadline = performance.now() + 15_000
    while (seen.size < inserted && performance.now() < deadline) await delay(50)
  } finally {
    flusher.child.kill('SIGTERM')
  }
  const result = assertSucceeded(`flushmany ${mode.label}`, await flusher.done)
  await connection.close()
  if (mode.name === 'listen') await withTriggers(false)
  const sorted = latencies.sort((a, b) => a - b)
  return {
    mode: mode.name,
    label: mode.label,
    rate,
    seconds,
    inserted,
    received: seen.size,
    missing: inserted - [...committedAt.keys()].filter((id) => seen.has(id)).length,
    duplicates,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    flusherCpuSeconds: result.cpuSeconds,
  }
}

/**
 * One throughput run of `flushmany` over `count` rows, with or without --metrics-port; with it, /metrics is
 * scraped every second during the run (Prometheus usually scrapes every 15 s: this is the harsher case).
 */
export async function metricsCostRun(db, broker, count, withMetrics) {
  await broker.reset()
  await seed(db, count)
  await waitUntilQuiet(os.cpus().length)
  const args = cliArgs('flushmany', '--burst', '1000', '--json', '-d', DATA_SOURCE, ...(withMetrics ? ['--metrics-port', String(METRICS_PORT)] : []))
  const running = startMeasured(args, {env: childEnv})
  let scrapes = 0
  let stopScraping = false
  const scraper = (async () => {
    while (withMetrics && !stopScraping) {
      try {
        const response = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`)
        if (response.ok) {
          await response.text()
          scrapes++
        }
      } catch {
        // not up yet, or already down
      }
      await delay(1000)
    }
  })()
  const result = assertSucceeded(`flushmany${withMetrics ? ' --metrics-port' : ''}`, await running.done)
  stopScraping = true
  await scraper
  const sent = result.json?.sent
  const queued = await broker.count()
  return {
    withMetrics,
    sent,
    queued,
    scrapes,
    seconds: result.json?.seconds,
    perSecond: count / result.json?.seconds,
    cpuSeconds: result.cpuSeconds,
    ok: sent === count && queued === count,
  }
}

/**
 * The same cost measured in-process, where the machine's noise cannot hide it: CPU per committed burst spent
 * in the metrics observer, and wall time to render one /metrics reply (backlog gauges excluded).
 */
export async function metricsObserverCost() {
  const {SignalbusMetrics} = await import('../../dist/index.js')
  const metrics = new SignalbusMetrics()
  metrics.declareModels(['BenchSignal'])
  const event = {model: 'BenchSignal', count: 1000, seconds: 0.05}
  for (let i = 0; i < 10_000; i++) metrics.burstCommitted(event)
  const bursts = 200_000
  const before = process.cpuUsage()
  for (let i = 0; i < bursts; i++) metrics.burstCommitted(event)
  const used = process.cpuUsage(before)
  const renders = 20
  const started = performance.now()
  for (let i = 0; i < renders; i++) await metrics.text()
  return {
    microsecondsPerBurst: (used.user + used.system) / bursts,
    millisecondsPerScrape: (performance.now() - started) / renders,
  }
}

export function summarizeService(results) {
  const summary = {latency: {}, metricsCost: undefined, targets: {}}
  for (const row of results.latency) {
    summary.latency[`${row.mode}@${row.rate}/s`] = {p50: round(row.p50, 1), p95: round(row.p95, 1), p99: round(row.p99, 1), max: round(row.max, 1)}
  }
  const listen50 = results.latency.find((row) => row.mode === 'listen' && row.rate === 50)
  if (listen50) {
    summary.targets['--listen at 50/s: p50 ≤ 30 ms'] = listen50.p50 <= 30
    summary.targets['--listen at 50/s: p99 ≤ 200 ms'] = listen50.p99 <= 200
  }
  if (results.metricsCost.length > 0) {
    const rate = (withMetrics) => median(results.metricsCost.filter((row) => row.withMetrics === withMetrics).map((row) => row.perSecond))
    const cost = 1 - ratio(rate(true), rate(false))
    summary.metricsCost = {
      withoutPerSecond: round(rate(false), 0),
      withPerSecond: round(rate(true), 0),
      cost: round(cost, 4),
      microsecondsPerBurst: round(results.metricsObserver?.microsecondsPerBurst, 3),
      millisecondsPerScrape: round(results.metricsObserver?.millisecondsPerScrape, 2),
    }
    summary.targets['--metrics-port throughput cost ≤ 2 %'] = cost <= 0.02
  }
  return summary
}

export function printServiceReport(out, results, summary) {
  if (results.latency.length > 0) {
    out(`\n## Latency: commit → consumer, PostgreSQL, steady inserts for ${results.latency[0].seconds} s\n`)
    out(
      markdownTable(
        ['flusher', 'inserts/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'rows', 'missing', 'duplicates', 'flusher CPU s'],
        results.latency.map((row) => [
          row.label,
          thousands(row.rate),
          fixed(row.p50, 1),
          fixed(row.p95, 1),
          fixed(row.p99, 1),
          fixed(row.max, 1),
          thousands(row.inserted),
          row.missing,
          row.duplicates,
          fixed(row.flusherCpuSeconds),
        ]),
      ),
    )
  }
  if (summary.metricsCost) {
    const runs = results.metricsCost.length / 2
    out(`\n## --metrics-port: throughput cost (PostgreSQL, /metrics scraped every second, median of ${runs} alternating runs)\n`)
    out(
      markdownTable(
        ['flushmany', 'msg/s', 'cost'],
        [
          ['without --metrics-port', thousands(summary.metricsCost.withoutPerSecond), '–'],
          ['with --metrics-port', thousands(summary.metricsCost.withPerSecond), `${fixed(summary.metricsCost.cost * 100, 1)} %`],
        ],
      ),
    )
    out(
      `\nIn-process: ${fixed(summary.metricsCost.microsecondsPerBurst, 2)} µs CPU per committed burst in the metrics observer, ` +
        `${fixed(summary.metricsCost.millisecondsPerScrape, 1)} ms to render one /metrics reply (backlog gauges excluded).`,
    )
  }
}
