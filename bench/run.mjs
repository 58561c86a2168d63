// `npm run bench`: throughput, CPU, memory, start-up and parallel flushing of the real `signalbus flushmany`
// process, side by side with raw amqplib (the broker's ceiling) and a hand-written loop over the bare drivers.
// It seeds the rows itself, alternates the cases, takes medians, prints tables and writes JSON under
// bench/results/. Benchmarks never fail on timing: only a broken run (wrong exit code, a row lost or sent
// twice) makes it exit non-zero. Sections: all but ordering by default; name some to run only those
// (`npm run bench -- memory`, or BENCH_ONLY=memory,startup): throughput, memory, startup, typescript, parallel,
// poison, latency, metrics, inflight (bursts in flight, models in parallel), and the opt-in ordering (over 10 minutes; never in the default list, name it to run
// it: it also reads BENCH_ORDERING_ROWS (100000), BENCH_ORDERING_RUNS (3), BENCH_ORDERING_DIALECTS (postgres,mariadb)). Settings (environment): BENCH_RUNS (3), BENCH_COUNT (100000), BENCH_MEMORY_ROWS
// (1000000), BENCH_MEMORY_RUNS (3), BENCH_PARALLEL_ROWS (200000), BENCH_PARALLEL_RUNS (3), BENCH_STARTUP_RUNS (7),
// BENCH_TABLE and BENCH_QUEUE (names, so that two checkouts can run side by side); the service cases' settings are
// in bench/lib/service-cases.mjs.
import {mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {openBroker} from './lib/broker.mjs'
import {backgroundBusy, cpuSince, cpuSnapshot, waitUntilQuiet} from './lib/machine-cpu.mjs'
import {connect, countRows, createTable, dropTable, seed} from './lib/database.mjs'
import {assertSucceeded, benchDir, caseScript, cleanUpScratch, cliArgs, repoRoot, runMeasured, startMeasured} from './lib/processes.mjs'
import {DIALECTS, QUEUE, RABBITMQ_URL} from './lib/settings.mjs'
import {fixed, markdownTable, median, ratio, round, thousands} from './lib/stats.mjs'
import {benchPoison, printPoison, summarizePoison} from './cases/poison.mjs'
import {benchInFlight, printInFlight, summarizeInFlight} from './cases/in-flight.mjs'
import {latencyRun, latencySettings, metricsCostRun, metricsObserverCost, printServiceReport, summarizeService} from './lib/service-cases.mjs'
import {benchOrdering, orderingConfig, printOrdering, summarizeOrdering} from './cases/ordering.mjs'

const setting = (name, fallback) => Number(process.env[name] ?? fallback)
const SECTIONS = ['throughput', 'memory', 'startup', 'typescript', 'parallel', 'poison', 'inflight', 'latency', 'metrics']
/** Sections run only when named: the ordering case takes over 10 minutes. */
const OPT_IN_SECTIONS = ['ordering']
const named = process.argv.slice(2).length > 0 ? process.argv.slice(2) : (process.env.BENCH_ONLY ?? SECTIONS.join(',')).split(',')
const sections = named.map((name) => name.trim()).filter((name) => name !== '')
const unknownSections = sections.filter((name) => !SECTIONS.includes(name) && !OPT_IN_SECTIONS.includes(name))
if (unknownSections.length > 0) {
  process.stderr.write(`Unknown benchmark section(s): ${unknownSections.join(', ')} (known: ${[...SECTIONS, ...OPT_IN_SECTIONS].join(', ')})\n`)
  process.exit(2)
}
const config = {
  runs: setting('BENCH_RUNS', 3),
  count: setting('BENCH_COUNT', 100_000),
  burst: 1000,
  memoryRows: [...new Set([10_000, 100_000, setting('BENCH_MEMORY_ROWS', 1_000_000)])].sort((a, b) => a - b),
  memoryRuns: setting('BENCH_MEMORY_RUNS', 3),
  /** Confirm windows of the raw-amqplib ceiling: every 1,000 (a burst's worth) and every 10,000. */
  ceilingWindows: [1000, 10_000],
  parallelRows: setting('BENCH_PARALLEL_ROWS', 200_000),
  parallelProcesses: [1, 2, 4],
  parallelRuns: setting('BENCH_PARALLEL_RUNS', 3),
  startupRuns: setting('BENCH_STARTUP_RUNS', 7),
  sections,
  latency: latencySettings(),
}

const DATA_SOURCE = path.join('bench', 'fixture', 'data-source.mjs')
/** Case 6b's app: a NestJS-shaped TypeScript data source, and its tsc output. */
const TS_APP = path.join('bench', 'fixture', 'ts-app')
const TYPESCRIPT_CASES = [
  {name: 'js', label: 'compiled .js (tsc output)', dataSource: path.join(TS_APP, 'dist', 'data-source.js'), env: {}},
  {name: 'ts', label: '.ts, default (SWC, cache warm)', dataSource: path.join(TS_APP, 'src', 'data-source.ts'), env: {}},
  {name: 'ts-swc-cold', label: '.ts, SWC, no cache', dataSource: path.join(TS_APP, 'src', 'data-source.ts'), env: {SIGNALBUS_TS_CACHE_DIR: 'off'}},
  {
    name: 'ts-tsc-cold',
    label: '.ts, TypeScript transpileModule, no cache',
    dataSource: path.join(TS_APP, 'src', 'data-source.ts'),
    env: {SIGNALBUS_TS_CACHE_DIR: 'off', SIGNALBUS_TRANSPILER: 'typescript'},
  },
]
/** The case name of the raw-amqplib ceiling at a confirm window: ceiling-1k, ceiling-10k. */
const ceilingCase = (window) => `ceiling-${window / 1000}k`
/** The memory case publishes to a queue capped at this length (oldest dropped), so a million messages do not fill the broker. */
const CAPPED_QUEUE = `${QUEUE}-capped`
const CAPPED_LENGTH = 100_000

const flushmanyArgs = (...extra) => cliArgs('flushmany', '--burst', String(config.burst), '--json', '-d', DATA_SOURCE, ...extra)
const childEnv = (dialect, extra = {}) => ({BENCH_DIALECT: dialect, SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL, ...extra})
const log = (message) => process.stderr.write(`${message}\n`)

const broker = await openBroker()
const databases = Object.fromEntries(await Promise.all(DIALECTS.map(async (dialect) => [dialect, await connect(dialect)])))
const started = new Date()
const loadAtStart = os.loadavg().map((value) => round(value, 2))
const busyAtStart = await backgroundBusy(3000, os.cpus().length)
if (busyAtStart > 0.1) log(`Warning: the machine is ${fixed(busyAtStart * 100, 0)} % busy before the benchmark starts; figures will be noisy.`)
const serverVersions = Object.fromEntries(
  await Promise.all(DIALECTS.map(async (dialect) => [dialect, String((await databases[dialect].query('SELECT VERSION() AS v'))[0].v)])),
)
const results = {inFlight: [], throughput: [], memory: [], startup: [], typescriptStartup: [], parallel: [], poison: [], latency: [], metricsCost: [], ordering: []}
const problems = []
const retried = []

try {
  // The ordering case has a table of its own: a run of it alone leaves bench_signal to whoever else uses it.
  const usesBenchTable = config.sections.some((section) => section !== 'ordering')
  if (usesBenchTable) for (const db of Object.values(databases)) await createTable(db)
  if (config.sections.includes('throughput')) await benchThroughput()
  if (config.sections.includes('memory')) await benchMemory()
  if (config.sections.includes('startup')) await benchStartup()
  if (config.sections.includes('typescript')) await benchTypescriptStartup()
  if (config.sections.includes('parallel')) await benchParallel()
  if (config.sections.includes('poison')) {
    await benchPoison({config, databases, broker, dialects: DIALECTS, flushmanyArgs, childEnv, log}, results.poison, problems)
  }
  if (config.sections.includes('inflight')) {
    await benchInFlight({config, databases, broker, dialects: DIALECTS, flushmanyArgs, childEnv, log, withOneRetry}, results.inFlight, problems)
  }
  if (config.sections.includes('latency')) await benchLatency()
  if (config.sections.includes('metrics')) await benchMetricsCost()
  if (config.sections.includes('ordering')) {
    results.ordering = await benchOrdering({
      broker, databases, startMeasured, assertSucceeded, cliArgs, waitUntilQuiet, cpus: os.cpus().length, log, problems,
    })
  }
} finally {
  for (const db of Object.values(databases)) {
    if (config.sections.some((section) => section !== 'ordering')) await dropTable(db)
    await db.close()
  }
  await broker.delete(QUEUE)
  await broker.delete(CAPPED_QUEUE)
  await broker.close()
  cleanUpScratch()
}

const summary = summarize()
const serviceSummary = summarizeService(results)
summary.latency = serviceSummary.latency
summary.metricsCost = serviceSummary.metricsCost
Object.assign(summary.targets, serviceSummary.targets)
const report = {
  startedAt: started.toISOString(),
  finishedAt: new Date().toISOString(),
  command: 'npm run bench',
  machine: describeMachine(),
  config: {...config, ordering: orderingConfig},
  summary,
  results,
  problems,
  retried,
}
if (results.inFlight.length > 0) {
  summary.inFlight = summarizeInFlight(results.inFlight, DIALECTS)
  Object.assign(summary.targets, summary.inFlight.targets)
}
printReport(summary)
if (summary.inFlight) printInFlight(summary.inFlight, config)
const resultsDir = path.join(benchDir, 'results')
mkdirSync(resultsDir, {recursive: true})
const file = path.join(resultsDir, `${started.toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify(report, null, 2) + '\n')
log(`\nWrote ${path.relative(repoRoot, file)}`)
if (problems.length > 0) {
  log(`\n${problems.length} run(s) did not deliver correctly:\n${problems.join('\n')}`)
  process.exitCode = 1
}

// ---------------------------------------------------------------------------------------------------------------
// Cases 1–4: the ceiling, the naive loop and signalbus flushmany, N messages each, alternating, median of runs.

async function benchThroughput() {
  const cases = [
    ...config.ceilingWindows.map((window) => ({
      name: ceilingCase(window),
      label: `ceiling: raw amqplib, confirms every ${thousands(window)}`,
      dialect: undefined,
      env: {BENCH_CONFIRM_WINDOW: String(window)},
    })),
    ...DIALECTS.flatMap((dialect) => [
      {name: `naive-${dialect}`, label: `naive loop, ${dialect}`, dialect, args: [caseScript('naive-loop.mjs')]},
      {name: `signalbus-${dialect}`, label: `signalbus flushmany, ${dialect}`, dialect, args: flushmanyArgs()},
    ]),
  ]
  for (let run = 1; run <= config.runs; run++) {
    // Rotate the order every run, so that no case always follows the same one.
    const order = cases.map((_, index) => cases[(index + run - 1) % cases.length])
    for (const item of order) await withOneRetry(`${item.label}, run ${run}`, () => throughputRun(item, run))
  }
}

async function throughputRun(item, run) {
  await broker.reset()
  if (item.dialect) await seed(databases[item.dialect], config.count)
  const args = item.args ?? [caseScript('ceiling.mjs')]
  const quiet = await waitUntilQuiet(os.cpus().length)
  const before = cpuSnapshot()
  const result = await runMeasured(args, {env: childEnv(item.dialect ?? 'postgres', {BENCH_COUNT: String(config.count), ...item.env})})
  const cpu = cpuSince(before, os.cpus().length)
  assertSucceeded(item.label, result)
  const sent = result.json?.sent
  const queued = await broker.count()
  const left = item.dialect ? await countRows(databases[item.dialect]) : 0
  if (sent !== config.count || queued !== config.count || left !== 0) {
    problems.push(`${item.label} run ${run}: sent ${sent}, ${queued} in the queue, ${left} rows left (expected ${config.count}, ${config.count}, 0)`)
  }
  const seconds = result.json?.seconds ?? NaN
  results.throughput.push({
    case: item.name,
    label: item.label,
    run,
    messages: config.count,
    seconds,
    perSecond: config.count / seconds,
    wallSeconds: result.wallSeconds,
    wallPerSecond: config.count / result.wallSeconds,
    cpuSeconds: result.cpuSeconds,
    userSeconds: result.userSeconds,
    systemSeconds: result.systemSeconds,
    peakRssMB: result.peakRssMB,
    machineBusy: cpu.machineBusy,
    busyBefore: quiet,
    rabbitmqCpuSeconds: cpu.rabbitmq,
    databaseCpuSeconds: item.dialect ? cpu[item.dialect] : 0,
  })
  log(`throughput run ${run}: ${item.label}: ${thousands(config.count / seconds)} msg/s, ${fixed(result.cpuSeconds)} CPU s`)
}

// Case 5: peak RSS of flushmany over 10,000, 100,000 and 1,000,000 pending rows (PostgreSQL, seeded with
// generate_series), median of BENCH_MEMORY_RUNS. A 10,000-row run ends before V8 reaches its working size; the
// targets compare 1,000,000 with 100,000.

async function benchMemory() {
  const db = databases.postgres
  for (let run = 1; run <= config.memoryRuns; run++) {
    for (const rows of config.memoryRows) await withOneRetry(`memory, ${rows} rows, run ${run}`, () => memoryRun(db, rows, run))
  }
}

async function memoryRun(db, rows, run) {
  await broker.reset(CAPPED_QUEUE, {'x-max-length': CAPPED_LENGTH, 'x-overflow': 'drop-head'})
  await seed(db, rows)
  await waitUntilQuiet(os.cpus().length)
  const result = await runMeasured(flushmanyArgs(), {env: childEnv('postgres', {BENCH_QUEUE: CAPPED_QUEUE})})
  assertSucceeded(`flushmany over ${rows} rows`, result)
  const left = await countRows(db)
  if (result.json?.sent !== rows || left !== 0) problems.push(`memory ${rows}: sent ${result.json?.sent}, ${left} rows left`)
  results.memory.push({
    pendingRows: rows,
    run,
    peakRssMB: result.peakRssMB,
    seconds: result.json?.seconds,
    perSecond: rows / result.json?.seconds,
    wallSeconds: result.wallSeconds,
    cpuSeconds: result.cpuSeconds,
  })
  log(`memory run ${run}: ${thousands(rows)} pending rows: peak RSS ${fixed(result.peakRssMB, 1)} MB, ${thousands(rows / result.json?.seconds)} msg/s`)
}

// Case 6: wall time of `signalbus flushmany` with nothing pending vs a bare script that initializes the same data
// source and runs one query.

async function benchStartup() {
  for (const dialect of DIALECTS) {
    await seed(databases[dialect], 0)
    await waitUntilQuiet(os.cpus().length)
    const cases = [
      {name: 'bare', args: [caseScript('bare-startup.mjs')]},
      {name: 'flushmany', args: flushmanyArgs()},
    ]
    for (let run = 0; run <= config.startupRuns; run++) {
      for (const item of run % 2 === 0 ? cases : [...cases].reverse()) {
        const result = assertSucceeded(`${item.name} start-up`, await runMeasured(item.args, {env: childEnv(dialect)}))
        // Run 0 warms the file system cache and is not counted.
        if (run === 0) continue
        results.startup.push({dialect, case: item.name, run, wallSeconds: result.wallSeconds, cpuSeconds: result.cpuSeconds, peakRssMB: result.peakRssMB})
      }
    }
    const wall = (name) => median(results.startup.filter((row) => row.dialect === dialect && row.case === name).map((row) => row.wallSeconds))
    log(`start-up, ${dialect}: flushmany ${fixed(wall('flushmany') * 1000, 0)} ms, bare script ${fixed(wall('bare') * 1000, 0)} ms`)
  }
}

// Case 6b: empty flushmany with a NestJS-shaped TypeScript data source (bench/fixture/ts-app) against its tsc output,
// on PostgreSQL: the default (SWC, compiled files cached), and both transpilers with the cache off (a first run).

async function benchTypescriptStartup() {
  const dialect = 'postgres'
  assertSucceeded('tsc -p bench/fixture/ts-app', await runMeasured([path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', TS_APP]))
  await seed(databases[dialect], 0)
  await waitUntilQuiet(os.cpus().length)
  const cacheDir = mkdtempSync(path.join(os.tmpdir(), 'signalbus-bench-ts-cache-'))
  try {
    for (let run = 0; run <= config.startupRuns; run++) {
      const order = TYPESCRIPT_CASES.map((_, index) => TYPESCRIPT_CASES[(index + run) % TYPESCRIPT_CASES.length])
      for (const item of order) {
        const env = childEnv(dialect, {SIGNALBUS_TS_CACHE_DIR: cacheDir, ...item.env})
        const args = cliArgs('flushmany', '--json', '-d', item.dataSource)
        const result = assertSucceeded(`${item.label} start-up`, await runMeasured(args, {env}))
        // Run 0 warms the file system cache (and the transpile cache) and is not counted.
        if (run > 0) results.typescriptStartup.push({case: item.name, run, wallSeconds: result.wallSeconds, cpuSeconds: result.cpuSeconds, peakRssMB: result.peakRssMB})
      }
    }
  } finally {
    rmSync(cacheDir, {recursive: true, force: true})
  }
  const wall = (name) => median(results.typescriptStartup.filter((row) => row.case === name).map((row) => row.wallSeconds))
  log(`start-up, TypeScript data source: .ts ${fixed(wall('ts') * 1000, 0)} ms, compiled .js ${fixed(wall('js') * 1000, 0)} ms`)
}

// Case 7: 1, 2 and 4 concurrent flushmany processes over the same rows; every message id read back from the queue.

async function benchParallel() {
  for (let run = 1; run <= config.parallelRuns; run++) {
    for (const dialect of DIALECTS) {
      for (const processes of config.parallelProcesses) {
        await withOneRetry(`parallel ${dialect} ×${processes}, run ${run}`, () => parallelRun(dialect, processes, run))
      }
    }
  }
}

async function parallelRun(dialect, processes, run) {
  await broker.reset()
  await seed(databases[dialect], config.parallelRows)
  await waitUntilQuiet(os.cpus().length)
  const begun = performance.now()
  const children = Array.from({length: processes}, () => startMeasured(flushmanyArgs(), {env: childEnv(dialect)}).done)
  const finished = await Promise.all(children)
  const wallSeconds = (performance.now() - begun) / 1000
  finished.forEach((result, index) => assertSucceeded(`parallel flusher ${index + 1} of ${processes}`, result))
  const reported = finished.reduce((sum, result) => sum + (result.json?.sent ?? 0), 0)
  const left = await countRows(databases[dialect])
  const delivery = await broker.drainAndCheck(config.parallelRows)
  const exactlyOnce = delivery.missing === 0 && delivery.duplicates === 0 && delivery.foreign === 0 && left === 0
  if (!exactlyOnce || reported !== config.parallelRows) {
    problems.push(`parallel ${dialect} ×${processes} run ${run}: ${JSON.stringify({...delivery, left, reported})}`)
  }
  results.parallel.push({
    dialect,
    processes,
    run,
    rows: config.parallelRows,
    wallSeconds,
    perSecond: config.parallelRows / wallSeconds,
    flushSeconds: Math.max(...finished.map((result) => result.json?.seconds ?? NaN)),
    flushPerSecond: config.parallelRows / Math.max(...finished.map((result) => result.json?.seconds ?? NaN)),
    sentPerProcess: finished.map((result) => result.json?.sent),
    ...delivery,
    rowsLeft: left,
    exactlyOnce,
  })
  log(
    `parallel run ${run}, ${dialect}, ${processes} flusher(s): ${thousands(config.parallelRows / wallSeconds)} msg/s, ` +
      `missing ${delivery.missing}, duplicates ${delivery.duplicates}`,
  )
}

// Cases 8 and 9 (bench/lib/service-cases.mjs): commit → consumer latency under steady inserts, polling vs --listen;
// the throughput cost of --metrics-port.

async function benchLatency() {
  const {seconds, rates, modes} = config.latency
  for (const rate of rates) {
    for (const mode of modes) {
      const row = await withOneRetry(`latency ${mode.label} at ${rate}/s`, () => latencyRun(databases.postgres, broker, mode, rate, seconds))
      if (!row) continue
      results.latency.push(row)
      if (row.missing > 0 || row.duplicates > 0) problems.push(`latency ${mode.label} at ${rate}/s: ${row.missing} missing, ${row.duplicates} duplicates`)
      log(`latency, ${mode.label}, ${rate}/s: p50 ${fixed(row.p50, 1)} ms, p95 ${fixed(row.p95, 1)} ms, p99 ${fixed(row.p99, 1)} ms`)
    }
  }
}

async function benchMetricsCost() {
  for (let run = 1; run <= config.runs; run++) {
    for (const withMetrics of run % 2 === 1 ? [false, true] : [true, false]) {
      const row = await withOneRetry(`metrics cost run ${run}`, () => metricsCostRun(databases.postgres, broker, config.count, withMetrics))
      if (!row) continue
      results.metricsCost.push({...row, run})
      if (!row.ok) problems.push(`metrics cost run ${run} (${withMetrics ? 'with' : 'without'}): sent ${row.sent}, ${row.queued} queued`)
      log(`metrics cost run ${run}, ${withMetrics ? 'with' : 'without'} --metrics-port: ${thousands(row.perSecond)} msg/s (${row.scrapes} scrapes)`)
    }
  }
  results.metricsObserver = await metricsObserverCost()
}

/**
 * Runs `attempt` once more if it throws: other processes on the machine may close broker connections. A second
 * failure is recorded as a problem and the benchmark goes on, so that one case does not lose every other figure.
 */
async function withOneRetry(what, attempt) {
  const reasonOf = (error) => String(error?.message ?? error).split('\n').slice(0, 3).join(' ')
  try {
    return await attempt()
  } catch (error) {
    retried.push(`${what}: ${reasonOf(error)}`)
    log(`${what} failed (${reasonOf(error)}); running it again`)
  }
  try {
    return await attempt()
  } catch (error) {
    problems.push(`${what} failed twice: ${reasonOf(error)}`)
    log(`${what} failed again (${reasonOf(error)}); going on without it`)
    return undefined
  }
}

// ---------------------------------------------------------------------------------------------------------------

function summarize() {
  const throughput = (name, field = 'perSecond') => median(results.throughput.filter((row) => row.case === name).map((row) => row[field]))
  const summary = {throughput: {}, ratios: {}, targets: {}}
  const ceiling = throughput(ceilingCase(1000))
  for (const name of [...new Set(results.throughput.map((row) => row.case))]) {
    summary.throughput[name] = {
      perSecond: round(throughput(name), 0),
      wallPerSecond: round(throughput(name, 'wallPerSecond'), 0),
      cpuSeconds: round(throughput(name, 'cpuSeconds'), 3),
      peakRssMB: round(throughput(name, 'peakRssMB'), 1),
      rabbitmqCpuSeconds: round(throughput(name, 'rabbitmqCpuSeconds'), 2),
      databaseCpuSeconds: round(throughput(name, 'databaseCpuSeconds'), 2),
      machineBusy: round(throughput(name, 'machineBusy'), 3),
      ofCeiling: round(ratio(throughput(name), ceiling), 3),
    }
  }
  /** Median over the runs of signalbus's figure divided by the other case's figure from the same run. */
  const paired = (name, other, field = 'perSecond') =>
    median(
      results.throughput
        .filter((row) => row.case === name)
        .map((row) => ratio(row[field], results.throughput.find((o) => o.case === other && o.run === row.run)?.[field])),
    )
  for (const dialect of DIALECTS) {
    if (!summary.throughput[`signalbus-${dialect}`]) continue
    const pairedVsNaive = paired(`signalbus-${dialect}`, `naive-${dialect}`)
    const pairedVsCeiling = paired(`signalbus-${dialect}`, ceilingCase(1000))
    const pairedVsWideCeiling = paired(`signalbus-${dialect}`, ceilingCase(10_000))
    const ofWideCeiling = ratio(throughput(`signalbus-${dialect}`), throughput(ceilingCase(10_000)))
    const pairedCpu = paired(`signalbus-${dialect}`, `naive-${dialect}`, 'cpuSeconds')
    const throughputRatio = ratio(throughput(`signalbus-${dialect}`), throughput(`naive-${dialect}`))
    const wallRatio = ratio(throughput(`signalbus-${dialect}`, 'wallPerSecond'), throughput(`naive-${dialect}`, 'wallPerSecond'))
    const cpuRatio = ratio(throughput(`signalbus-${dialect}`, 'cpuSeconds'), throughput(`naive-${dialect}`, 'cpuSeconds'))
    const ofCeiling = ratio(throughput(`signalbus-${dialect}`), ceiling)
    summary.ratios[`throughputVsNaive.${dialect}`] = round(throughputRatio, 3)
    summary.ratios[`wallThroughputVsNaive.${dialect}`] = round(wallRatio, 3)
    summary.ratios[`throughputVsCeiling.${dialect}`] = round(ofCeiling, 3)
    summary.ratios[`cpuVsNaive.${dialect}`] = round(cpuRatio, 3)
    summary.ratios[`pairedThroughputVsNaive.${dialect}`] = round(pairedVsNaive, 3)
    summary.ratios[`pairedThroughputVsCeiling.${dialect}`] = round(pairedVsCeiling, 3)
    summary.ratios[`pairedCpuVsNaive.${dialect}`] = round(pairedCpu, 3)
    summary.ratios[`throughputVsCeiling10k.${dialect}`] = round(ofWideCeiling, 3)
    summary.ratios[`pairedThroughputVsCeiling10k.${dialect}`] = round(pairedVsWideCeiling, 3)
    // A target counts as met when the ratio of the medians and the median of the per-run ratios both meet it.
    summary.targets[`throughput ≥ 1.0× naive loop (${dialect})`] = throughputRatio >= 1.0 && pairedVsNaive >= 1.0
    summary.targets[`throughput ≥ 0.95× ceiling (${dialect}, aim)`] = ofCeiling >= 0.95 && pairedVsCeiling >= 0.95
    summary.targets[`throughput ≥ 0.9× ceiling at the 10,000 window (${dialect})`] = ofWideCeiling >= 0.9 && pairedVsWideCeiling >= 0.9
    summary.targets[`flusher CPU per message ≤ 1.0× naive loop (${dialect})`] = cpuRatio <= 1.0 && pairedCpu <= 1.0
  }
  if (summary.throughput[ceilingCase(10_000)]) {
    summary.ratios['ceiling10kVs1k'] = round(ratio(throughput(ceilingCase(10_000)), ceiling), 3)
    summary.ratios['pairedCeiling10kVs1k'] = round(paired(ceilingCase(10_000), ceilingCase(1000)), 3)
  }
  const peakRss = (rows) => median(results.memory.filter((row) => row.pendingRows === rows).map((row) => row.peakRssMB))
  const memorySizes = [...new Set(results.memory.map((row) => row.pendingRows))]
  if (memorySizes.length > 0) {
    summary.memory = {peakRssMB: Object.fromEntries(memorySizes.map((rows) => [rows, round(peakRss(rows), 1)]))}
  }
  if (memorySizes.includes(100_000) && memorySizes.length >= 2) {
    const large = Math.max(...memorySizes)
    const rssRatio = ratio(peakRss(large), peakRss(100_000))
    summary.ratios[`rss${large}Vs100000`] = round(rssRatio, 3)
    summary.targets[`RSS at ${thousands(large)} ≤ 1.3× RSS at 100,000`] = rssRatio <= 1.3
    summary.targets[`RSS at ${thousands(large)} ≤ 110 MB`] = peakRss(large) <= 110
  }
  summary.startup = {}
  for (const dialect of DIALECTS) {
    const wall = (name) => median(results.startup.filter((row) => row.dialect === dialect && row.case === name).map((row) => row.wallSeconds))
    if (!Number.isFinite(wall('flushmany'))) continue
    const startupRatio = ratio(wall('flushmany'), wall('bare'))
    summary.startup[dialect] = {flushmanyMs: round(wall('flushmany') * 1000, 0), bareScriptMs: round(wall('bare') * 1000, 0)}
    summary.ratios[`startupVsBare.${dialect}`] = round(startupRatio, 3)
    summary.targets[`empty-run start-up ≤ 1.5× bare script (${dialect})`] = startupRatio <= 1.5
  }
  if (results.typescriptStartup.length > 0) {
    const of = (name, field) => median(results.typescriptStartup.filter((row) => row.case === name).map((row) => row[field]))
    summary.typescriptStartup = Object.fromEntries(
      TYPESCRIPT_CASES.map((item) => [
        item.name,
        {
          label: item.label,
          wallMs: round(of(item.name, 'wallSeconds') * 1000, 0),
          peakRssMB: round(of(item.name, 'peakRssMB'), 1),
          wallVsJs: round(ratio(of(item.name, 'wallSeconds'), of('js', 'wallSeconds')), 3),
          rssVsJs: round(ratio(of(item.name, 'peakRssMB'), of('js', 'peakRssMB')), 3),
        },
      ]),
    )
    summary.ratios['typescriptStartupVsJs'] = summary.typescriptStartup.ts.wallVsJs
    summary.ratios['typescriptRssVsJs'] = summary.typescriptStartup.ts.rssVsJs
    summary.targets['.ts data source start-up ≤ 1.3× compiled .js'] = summary.typescriptStartup.ts.wallVsJs <= 1.3
    summary.targets['.ts data source peak RSS ≤ 1.2× compiled .js'] = summary.typescriptStartup.ts.rssVsJs <= 1.2
  }
  summary.parallel = {}
  for (const dialect of DIALECTS) {
    const rows = results.parallel.filter((row) => row.dialect === dialect)
    if (rows.length === 0) continue
    const rate = (processes, field = 'perSecond') => median(rows.filter((row) => row.processes === processes).map((row) => row[field]))
    summary.parallel[dialect] = Object.fromEntries(
      config.parallelProcesses.map((processes) => [
        processes,
        {wallPerSecond: round(rate(processes), 0), flushPerSecond: round(rate(processes, 'flushPerSecond'), 0)},
      ]),
    )
    const most = Math.max(...config.parallelProcesses)
    summary.ratios[`parallel${most}Vs1.${dialect}`] = round(ratio(rate(most), rate(1)), 3)
    summary.ratios[`parallel${most}Vs1FlushTime.${dialect}`] = round(ratio(rate(most, 'flushPerSecond'), rate(1, 'flushPerSecond')), 3)
    summary.targets[`${most} parallel flushers: no duplicates, no losses (${dialect})`] = rows.every((row) => row.exactlyOnce)
    summary.targets[`${most} parallel flushers: throughput ≥ 1 flusher's (${dialect}, wall)`] = rate(most) >= rate(1)
  }
  summary.poison = summarizePoison(results.poison, DIALECTS)
  for (const [dialect, variants] of Object.entries(summary.poison)) {
    summary.ratios[`poison1VsNone.${dialect}`] = variants[1].throughputVsNoFailing
    summary.ratios[`poison10VsNone.${dialect}`] = variants[10].throughputVsNoFailing
    summary.targets[`1 failing row costs ≤ 5 % throughput (${dialect})`] = variants[1].throughputVsNoFailing >= 0.95
  }
  if (results.ordering.length > 0) {
    summary.ordering = summarizeOrdering(results.ordering)
    Object.assign(summary.targets, summary.ordering.targets)
  }
  return summary
}

function printReport(summary) {
  const out = (text = '') => process.stdout.write(`${text}\n`)
  const count = thousands(config.count)
  if (results.throughput.length > 0) {
    out(`\n## Throughput: ${count} persistent messages, bursts/confirms of ${config.burst} (median of ${config.runs} alternating runs)\n`)
    const labels = Object.fromEntries(results.throughput.map((row) => [row.case, row.label]))
    out(
      markdownTable(
        ['case', 'msg/s (flush time)', 'msg/s (process wall)', '× ceiling (1,000)', 'flusher CPU s per 100,000', 'RabbitMQ CPU s', 'database CPU s', 'machine busy', 'peak RSS MB'],
        Object.entries(summary.throughput).map(([name, row]) => [
          labels[name],
          thousands(row.perSecond),
          thousands(row.wallPerSecond),
          fixed(row.ofCeiling),
          fixed((row.cpuSeconds * 100_000) / config.count),
          fixed(row.rabbitmqCpuSeconds),
          fixed(row.databaseCpuSeconds),
          `${fixed(row.machineBusy * 100, 0)} %`,
          fixed(row.peakRssMB, 0),
        ]),
      ),
    )
  }
  if (results.memory.length > 0) {
    out(`\n## Memory: flushmany on PostgreSQL (median of ${config.memoryRuns})\n`)
    const sizes = [...new Set(results.memory.map((row) => row.pendingRows))]
    const medianOf = (rows, field) => median(results.memory.filter((row) => row.pendingRows === rows).map((row) => row[field]))
    out(
      markdownTable(
        ['pending rows', 'peak RSS MB', 'runs (MB)', 'msg/s', 'CPU s'],
        sizes.map((rows) => [
          thousands(rows),
          fixed(medianOf(rows, 'peakRssMB'), 1),
          results.memory.filter((row) => row.pendingRows === rows).map((row) => fixed(row.peakRssMB, 1)).join(', '),
          thousands(medianOf(rows, 'perSecond')),
          fixed(medianOf(rows, 'cpuSeconds')),
        ]),
      ),
    )
  }
  if (Object.keys(summary.startup).length > 0) {
    out(`\n## Start-up with nothing pending (median of ${config.startupRuns})\n`)
    out(
      markdownTable(
        ['database', 'signalbus flushmany ms', 'bare script ms', 'ratio'],
        Object.entries(summary.startup).map(([dialect, row]) => [dialect, row.flushmanyMs, row.bareScriptMs, fixed(summary.ratios[`startupVsBare.${dialect}`])]),
      ),
    )
  }
  if (summary.typescriptStartup) {
    out(`\n## Start-up with a TypeScript data source, nothing pending, PostgreSQL (median of ${config.startupRuns})\n`)
    out(
      markdownTable(
        ['data source', 'wall ms', '× .js', 'peak RSS MB', '× .js'],
        Object.values(summary.typescriptStartup).map((row) => [row.label, row.wallMs, fixed(row.wallVsJs), fixed(row.peakRssMB, 1), fixed(row.rssVsJs)]),
      ),
    )
  }
  if (Object.keys(summary.parallel).length > 0) {
    out(`\n## Parallel flushmany over ${thousands(config.parallelRows)} rows (msg/s, median of ${config.parallelRuns})\n`)
    out('Wall: from starting the processes to the last exit (start-ups included). Flush: over the longest flush time the processes report.\n')
    out(
      markdownTable(
        ['database', ...config.parallelProcesses.map((n) => `${n} flusher${n > 1 ? 's' : ''} (wall / flush)`), 'missing', 'duplicates'],
        Object.entries(summary.parallel).map(([dialect, rates]) => {
          const rows = results.parallel.filter((row) => row.dialect === dialect)
          return [
            dialect,
            ...config.parallelProcesses.map((n) => `${thousands(rates[n].wallPerSecond)} / ${thousands(rates[n].flushPerSecond)}`),
            rows.reduce((sum, row) => sum + row.missing, 0),
            rows.reduce((sum, row) => sum + row.duplicates, 0),
          ]
        }),
      ),
    )
  }
  if (Object.keys(summary.poison).length > 0) printPoison(out, summary.poison, config)
  printServiceReport(out, results, summarizeService(results))
  if (summary.ordering) printOrdering(out, summary.ordering)
  out('\n## Ratios and targets\n')
  out(markdownTable(['ratio', 'value'], Object.entries(summary.ratios).map(([name, value]) => [name, fixed(value)])))
  out()
  out(markdownTable(['target', 'met'], Object.entries(summary.targets).map(([name, met]) => [name, met ? 'yes' : 'NO'])))
}

function describeMachine() {
  const version = (name) => JSON.parse(readFileSync(path.join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')).version
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGB: round(os.totalmem() / 2 ** 30, 1),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: loadAtStart,
    busyBeforeStart: round(busyAtStart, 3),
    loadAverageAtEnd: os.loadavg().map((value) => round(value, 2)),
    versions: {
      signalbus: JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).version,
      typeorm: version('typeorm'),
      pg: version('pg'),
      mysql2: version('mysql2'),
      amqplib: version('amqplib'),
      postgres: serverVersions.postgres,
      mariadb: serverVersions.mariadb,
      rabbitmq: broker.serverVersion,
    },
  }
}
