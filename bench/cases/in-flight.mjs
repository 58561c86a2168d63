// Case 10, bursts in flight and models in parallel, side by side in one rotation: the ceiling (raw amqplib, confirms
// every 1,000 and every 10,000), the naive loop, signalbus with its RabbitmqPublisher (in-flight 1 and 4), signalbus with a
// send method safe for concurrent calls (bench/fixture/pipelined-signals.mjs) at --in-flight 1, 2 and 4, and four
// models on four queues (a quarter of the rows each) at --concurrency 1 and 4. Same-run ratios; flusher CPU per
// 100,000 messages. Run by bench/run.mjs (BENCH_ONLY=inflight).
import os from 'node:os'
import path from 'node:path'
import {countRows, createTable, dropTable, seed} from '../lib/database.mjs'
import {waitUntilQuiet} from '../lib/machine-cpu.mjs'
import {assertSucceeded, caseScript, cliArgs, runMeasured} from '../lib/processes.mjs'
import {fixed, markdownTable, median, ratio, round, thousands} from '../lib/stats.mjs'
import {QUEUE_MODELS, queueName, queueTable} from '../fixture/pipelined-signals.mjs'

const PIPELINED = path.join('bench', 'fixture', 'pipelined-data-source.mjs')
const IN_FLIGHT = [1, 2, 4]
const QUEUE_MODEL_NAMES = Array.from({length: QUEUE_MODELS}, (_, index) => `QueueSignal${index + 1}`)

function cases(context) {
  const {dialects, flushmanyArgs} = context
  const pipelined = (...extra) => cliArgs('flushmany', '--burst', String(context.config.burst), '--json', '-d', PIPELINED, ...extra)
  return [
    {name: 'ceiling-1000', label: 'ceiling: raw amqplib, confirms every 1,000', args: [caseScript('ceiling.mjs')], env: {BENCH_CONFIRM_WINDOW: '1000'}},
    {name: 'ceiling-10000', label: 'ceiling: raw amqplib, confirms every 10,000', args: [caseScript('ceiling.mjs')], env: {BENCH_CONFIRM_WINDOW: '10000'}},
    ...dialects.flatMap((dialect) => [
      {name: `naive-${dialect}`, label: `naive loop, ${dialect}`, dialect, args: [caseScript('naive-loop.mjs')]},
      {name: `publisher-${dialect}`, label: `signalbus, RabbitmqPublisher, ${dialect}`, dialect, args: flushmanyArgs()},
      {
        name: `publisher-in-flight-4-${dialect}`,
        label: `signalbus, RabbitmqPublisher, --in-flight 4, ${dialect}`,
        dialect,
        args: flushmanyArgs('--in-flight', '4'),
      },
      ...IN_FLIGHT.map((inFlight) => ({
        name: `in-flight-${inFlight}-${dialect}`,
        label: `signalbus --in-flight ${inFlight}, ${dialect}`,
        dialect,
        args: pipelined('PipelinedBenchSignal', '--in-flight', String(inFlight)),
      })),
      ...[1, 4].map((concurrency) => ({
        name: `four-queues-c${concurrency}-${dialect}`,
        label: `signalbus, 4 models on 4 queues, --concurrency ${concurrency}, ${dialect}`,
        dialect,
        queues: true,
        args: pipelined(...QUEUE_MODEL_NAMES, '--concurrency', String(concurrency)),
      })),
    ]),
  ]
}

/** `context`: {config, databases, broker, dialects, flushmanyArgs, childEnv, log, withOneRetry}. */
export async function benchInFlight(context, results, problems) {
  const {config, databases, dialects, log} = context
  const all = cases(context)
  for (const dialect of dialects) for (let index = 1; index <= QUEUE_MODELS; index++) await createTable(databases[dialect], queueTable(index))
  try {
    for (let run = 1; run <= config.runs; run++) {
      const order = all.map((_, index) => all[(index + run - 1) % all.length])
      for (const item of order) {
        const row = await context.withOneRetry(`${item.label}, run ${run}`, () => inFlightRun(context, item, run, problems))
        results.push(row)
        log(`in-flight run ${run}: ${item.label}: ${thousands(row.perSecond)} msg/s, ${fixed(row.cpuPer100k)} CPU s per 100k`)
      }
    }
  } finally {
    for (const dialect of dialects) for (let index = 1; index <= QUEUE_MODELS; index++) await dropTable(databases[dialect], queueTable(index))
    for (let index = 1; index <= QUEUE_MODELS; index++) await context.broker.delete(queueName(index))
  }
}

async function inFlightRun(context, item, run, problems) {
  const {config, databases, broker, childEnv} = context
  const count = config.count
  const share = count / QUEUE_MODELS
  const queues = item.queues ? Array.from({length: QUEUE_MODELS}, (_, index) => queueName(index + 1)) : [undefined]
  for (const queue of queues) await broker.reset(queue)
  if (item.dialect && item.queues) {
    for (let index = 1; index <= QUEUE_MODELS; index++) await seed(databases[item.dialect], share, queueTable(index))
  } else if (item.dialect) await seed(databases[item.dialect], count)
  await waitUntilQuiet(os.cpus().length)
  const result = await runMeasured(item.args, {env: childEnv(item.dialect ?? 'postgres', {BENCH_COUNT: String(count), ...item.env})})
  assertSucceeded(`${item.label}, run ${run}`, result)
  let queued = 0
  for (const queue of queues) queued += await broker.count(queue)
  let left = 0
  if (item.dialect && item.queues) for (let index = 1; index <= QUEUE_MODELS; index++) left += await countRows(databases[item.dialect], queueTable(index))
  else if (item.dialect) left = await countRows(databases[item.dialect])
  const sent = result.json?.sent
  if (sent !== count || queued !== count || left !== 0) {
    problems.push(`${item.label} run ${run}: sent ${sent}, ${queued} queued, ${left} rows left (expected ${count}, ${count}, 0)`)
  }
  const seconds = result.json?.seconds ?? NaN
  return {
    case: item.name,
    label: item.label,
    run,
    messages: count,
    seconds,
    perSecond: count / seconds,
    cpuSeconds: result.cpuSeconds,
    cpuPer100k: (result.cpuSeconds * 100_000) / count,
    peakRssMB: result.peakRssMB,
  }
}

/** Medians per case, same-run ratios and the targets of issue 13. */
export function summarizeInFlight(results, dialects) {
  const rows = (name) => results.filter((row) => row.case === name)
  const of = (name, field = 'perSecond') => median(rows(name).map((row) => row[field]))
  const paired = (name, other) =>
    median(rows(name).map((row) => ratio(row.perSecond, results.find((o) => o.case === other && o.run === row.run)?.perSecond)))
  const summary = {cases: {}, ratios: {}, targets: {}}
  for (const name of [...new Set(results.map((row) => row.case))]) {
    summary.cases[name] = {
      label: rows(name)[0].label,
      perSecond: round(of(name), 0),
      cpuPer100k: round(of(name, 'cpuPer100k'), 2),
      peakRssMB: round(of(name, 'peakRssMB'), 1),
      vsCeiling10000: round(paired(name, 'ceiling-10000'), 3),
    }
  }
  for (const dialect of dialects) {
    for (const inFlight of IN_FLIGHT) {
      const name = `in-flight-${inFlight}-${dialect}`
      summary.cases[name].vsNaive = round(paired(name, `naive-${dialect}`), 3)
    }
    for (const name of [`publisher-${dialect}`, `publisher-in-flight-4-${dialect}`]) summary.cases[name].vsNaive = round(paired(name, `naive-${dialect}`), 3)
    const best = `in-flight-4-${dialect}`
    summary.ratios[`inFlight4VsNaive.${dialect}`] = summary.cases[best].vsNaive
    summary.ratios[`inFlight4VsCeiling10000.${dialect}`] = summary.cases[best].vsCeiling10000
    summary.ratios[`fourQueuesC4VsOneModel.${dialect}`] = round(paired(`four-queues-c4-${dialect}`, `in-flight-1-${dialect}`), 3)
    summary.ratios[`fourQueuesC4VsC1.${dialect}`] = round(paired(`four-queues-c4-${dialect}`, `four-queues-c1-${dialect}`), 3)
    summary.ratios[`cpuInFlight4VsNaive.${dialect}`] = round(ratio(of(best, 'cpuPer100k'), of(`naive-${dialect}`, 'cpuPer100k')), 3)
    summary.targets[`one model (in-flight 4) ≥ 1.2× naive loop (${dialect})`] = summary.cases[best].vsNaive >= 1.2
    summary.targets[`one model (in-flight 4) ≥ 0.9× ceiling at 10,000 (${dialect})`] = summary.cases[best].vsCeiling10000 >= 0.9
    summary.targets[`4 models, --concurrency 4 ≥ 1.3× one model (${dialect})`] = summary.ratios[`fourQueuesC4VsOneModel.${dialect}`] >= 1.3
    summary.targets[`flusher CPU per message ≤ 1.0× naive loop (in-flight 4, ${dialect})`] = summary.ratios[`cpuInFlight4VsNaive.${dialect}`] <= 1.0
  }
  summary.ratios.ceiling10000VsCeiling1000 = round(paired('ceiling-10000', 'ceiling-1000'), 3)
  return summary
}

export function printInFlight(summary, config) {
  const out = (text = '') => process.stdout.write(`${text}\n`)
  out(`\n## Bursts in flight and models in parallel: ${thousands(config.count)} messages, bursts of ${config.burst} (median of ${config.runs} rotating runs)\n`)
  out(
    markdownTable(
      ['case', 'msg/s', '× naive loop (same run)', '× ceiling at 10,000 (same run)', 'flusher CPU s per 100k', 'peak RSS MB'],
      Object.values(summary.cases).map((row) => [
        row.label,
        thousands(row.perSecond),
        row.vsNaive === undefined ? '' : fixed(row.vsNaive),
        fixed(row.vsCeiling10000),
        fixed(row.cpuPer100k),
        fixed(row.peakRssMB, 0),
      ]),
    ),
  )
  out('')
  for (const [ratioName, value] of Object.entries(summary.ratios)) out(`- ${ratioName}: ${fixed(value, 3)}`)
  out('')
  for (const [target, met] of Object.entries(summary.targets)) out(`- ${met ? 'met' : 'NOT met'}: ${target}`)
}
