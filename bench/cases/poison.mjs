// Case 8, poison: `signalbus flushmany` over N rows of which 0, 1 or 10 (at fixed, spread-out positions) fail on
// their own (their message cannot be encoded). Measures the rate at which the rest is delivered, the extra send
// calls that narrowing the failing bursts down costs, and the time to deliver everything else; checks that every
// other row reached the queue exactly once and that the failing rows stay pending. Run by bench/run.mjs.
import os from 'node:os'
import path from 'node:path'
import {readFileSync, rmSync} from 'node:fs'
import {countRows, seed} from '../lib/database.mjs'
import {waitUntilQuiet} from '../lib/machine-cpu.mjs'
import {runMeasured} from '../lib/processes.mjs'
import {fixed, markdownTable, median, ratio, round, thousands} from '../lib/stats.mjs'

export const POISON_VARIANTS = [0, 1, 10]

/** Failing ids spread over the table, none at a burst boundary: 1 → the middle; 10 → one in every tenth. */
export function failingIds(count, failing) {
  return Array.from({length: failing}, (_, index) => Math.floor(((index + 0.5) * count) / failing) + 7)
}

/**
 * Runs every variant `runs` times per dialect, alternating; appends rows to `results` and problems to `problems`.
 * `context`: {config, databases, broker, dialects, flushmanyArgs, childEnv, log}.
 */
export async function benchPoison(context, results, problems) {
  const {config, databases, broker, dialects, log} = context
  for (let run = 1; run <= config.runs; run++) {
    for (const dialect of dialects) {
      const order = run % 2 === 1 ? POISON_VARIANTS : [...POISON_VARIANTS].reverse()
      for (const failing of order) await poisonRun(context, results, problems, {dialect, failing, run})
    }
  }

  async function poisonRun(context, results, problems, {dialect, failing, run}) {
    const count = config.count
    const ids = failingIds(count, failing)
    await broker.reset()
    await seed(databases[dialect], count)
    await waitUntilQuiet(os.cpus().length)
    const callsFile = path.join(os.tmpdir(), `signalbus-bench-poison-calls-${process.pid}-${dialect}-${failing}-${run}`)
    const result = await runMeasured(context.flushmanyArgs(), {
      env: context.childEnv(dialect, {BENCH_FAIL_IDS: ids.join(','), BENCH_CALLS_FILE: callsFile}),
    })
    const calls = Number(readFileSync(callsFile, 'utf8'))
    rmSync(callsFile, {force: true})
    const expectedExit = failing > 0 ? 1 : 0
    const delivered = count - failing
    const sent = result.json?.sent
    const left = await countRows(databases[dialect])
    const delivery = await broker.drainAndCheck(count)
    const failingMissing = delivery.missing === failing
    if (result.code !== expectedExit || sent !== delivered || left !== failing || !failingMissing || delivery.duplicates !== 0 || delivery.foreign !== 0) {
      problems.push(
        `poison ${dialect} ${failing} failing, run ${run}: exit ${result.code}, sent ${sent}, ${left} rows left, ` +
          `${JSON.stringify(delivery)} (expected exit ${expectedExit}, ${delivered} sent, ${failing} left and missing, no duplicates)` +
          `\n${result.stderr}`,
      )
    }
    const seconds = result.json?.seconds ?? NaN
    const bursts = Math.ceil(count / config.burst)
    results.push({
      dialect,
      failing,
      run,
      rows: count,
      delivered,
      seconds,
      perSecond: delivered / seconds,
      sendCalls: calls,
      extraSendCalls: calls - bursts,
      cpuSeconds: result.cpuSeconds,
      exitCode: result.code,
    })
    log(`poison run ${run}, ${dialect}, ${failing} failing: ${thousands(delivered / seconds)} msg/s, ${calls - bursts} extra send calls, ${fixed(seconds)} s`)
  }
}

/** Medians per dialect and variant, and the throughput of each variant against 0 failing (same-run pairs). */
export function summarizePoison(results, dialects) {
  const summary = {}
  for (const dialect of dialects) {
    const rows = results.filter((row) => row.dialect === dialect)
    if (rows.length === 0) continue
    summary[dialect] = {}
    for (const failing of POISON_VARIANTS) {
      const variant = rows.filter((row) => row.failing === failing)
      const paired = median(
        variant.map((row) => ratio(row.perSecond, rows.find((other) => other.failing === 0 && other.run === row.run)?.perSecond)),
      )
      summary[dialect][failing] = {
        perSecond: round(median(variant.map((row) => row.perSecond)), 0),
        seconds: round(median(variant.map((row) => row.seconds)), 3),
        extraSendCalls: median(variant.map((row) => row.extraSendCalls)),
        maxExtraSendCalls: Math.max(...variant.map((row) => row.extraSendCalls)),
        throughputVsNoFailing: round(paired, 3),
      }
    }
  }
  return summary
}

export function printPoison(out, summary, config) {
  out(
    `\n## Poison: ${thousands(config.count)} rows, 0, 1 or 10 of them failing on their own, bursts of ${config.burst} ` +
      `(median of ${config.runs})\n`,
  )
  out('msg/s: the other rows, over the flush time. Extra send calls: beyond one per burst (median / worst run).\n')
  out(
    markdownTable(
      ['database', 'failing rows', 'msg/s of the rest', '× 0 failing', 'extra send calls', 'time to deliver the rest s'],
      Object.entries(summary).flatMap(([dialect, variants]) =>
        Object.entries(variants).map(([failing, row]) => [
          dialect,
          failing,
          thousands(row.perSecond),
          fixed(row.throughputVsNoFailing),
          `${row.extraSendCalls} / ${row.maxExtraSendCalls}`,
          fixed(row.seconds),
        ]),
      ),
    ),
  )
}
