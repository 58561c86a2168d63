// Human and JSON renderings of command results (the JSON shapes are documented in the README).
import {formatKey, type DeadLetter, type RequeueReport} from '../dead-letters/index.js'
import {deadLetteredMessage, type FlushReport} from '../flush-report.js'
import type {SetupPlan} from '../setup/index.js'
import type {SignalModelStatus} from '../signalbus.js'
import type {Output} from './output.js'

/**
 * One error line per failed model (it stopped, or some of its signals failed and stay pending), one warning line
 * per model whose signals were moved to the dead letters, then the summary (or the JSON report) on stdout.
 */
export function renderFlushReport(out: Output, report: FlushReport, options: {json: boolean; quietWhenIdle: boolean}): void {
  for (const failure of report.failed) out.error(failure.error, {model: failure.model})
  for (const [model, failures] of Object.entries(report.failedSignals)) {
    if (failures.deadLettered > 0) out.warn(deadLetteredMessage(model, failures), {model, count: failures.deadLettered})
  }
  const idle = report.sent === 0 && report.failed.length === 0 && report.deadLettered === 0
  if (options.json) {
    if (options.quietWhenIdle && idle) return
    out.json({...report, seconds: Number(report.seconds.toFixed(3))})
    return
  }
  if (options.quietWhenIdle && report.sent === 0) return
  const noun = report.sent === 1 ? 'signal has' : 'signals have'
  out.result(`${report.sent} ${noun} been successfully processed.`)
}

/** Exit 0 unless a model failed; signals moved to the dead letters (the rest delivered) are a success. */
export function runSucceeded(report: FlushReport): boolean {
  return report.failed.length === 0
}

export function renderPending(out: Output, pending: Record<string, number>, json: boolean): void {
  const total = Object.values(pending).reduce((sum, count) => sum + count, 0)
  if (json) {
    out.json({pending, total})
    return
  }
  for (const [name, count] of Object.entries(pending)) out.result(`${name}: ${count}`)
  out.result(`Total pending: ${total}`)
}

export function renderSignals(out: Output, signals: SignalModelStatus[], json: boolean): void {
  if (json) {
    out.json({signals})
    return
  }
  if (signals.length === 0) {
    out.result('No signal models found.')
    return
  }
  const header = ['NAME', 'TABLE', 'BURST', 'ORDERING', 'PENDING', 'DEAD', 'OLDEST']
  const rows = signals.map((signal) => [
    signal.name,
    signal.table,
    String(signal.burstCount),
    signal.orderingKey === null ? '-' : [signal.orderingKey].flat().join(','),
    String(signal.pending),
    signal.deadLetters === null ? '-' : String(signal.deadLetters),
    signal.oldestPendingSeconds === null ? '-' : formatAge(signal.oldestPendingSeconds),
  ])
  renderTable(out, header, rows)
}

function renderTable(out: Output, header: string[], rows: string[][]): void {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()
  out.result(out.stdoutColors.bold(line(header)))
  for (const row of rows) out.result(line(row))
}

export function renderSetup(out: Output, plan: SetupPlan, options: {json: boolean; applied: boolean}): void {
  if (options.json) {
    out.json({database: plan.database, transactional: plan.transactional, applied: options.applied, parts: plan.parts})
    return
  }
  const count = plan.parts.reduce((sum, part) => sum + part.statements.length, 0)
  if (options.applied) {
    const how = plan.transactional ? 'in one transaction' : 'one by one (DDL commits implicitly on this database)'
    out.result(`Applied ${count} statement(s) of ${plan.parts.map((part) => part.name).join(', ')} ${how}; existing tables were left as they were.`)
    return
  }
  out.result(`-- signalbus setup for ${plan.database}: run with --apply, or add to your migrations.`)
  if (!plan.transactional) out.result('-- DDL commits implicitly here: each statement stands alone, and each is safe to run again.')
  for (const part of plan.parts) {
    out.result('')
    out.result(`-- ${part.name}: ${part.description}`)
    for (const statement of part.statements) out.result(`${statement};`)
  }
}

export function renderDeadLetters(out: Output, deadLetters: DeadLetter[], json: boolean): void {
  if (json) {
    out.json({
      deadLetters: deadLetters.map((letter) => ({
        model: letter.model,
        key: letter.key,
        error: letter.error,
        attempts: letter.attempts,
        firstFailedAt: letter.firstFailedAt.toISOString(),
        lastFailedAt: letter.lastFailedAt.toISOString(),
      })),
    })
    return
  }
  if (deadLetters.length === 0) {
    out.result('No dead letters.')
    return
  }
  const rows = deadLetters.map((letter) => [
    letter.model,
    formatKey(letter.key),
    String(letter.attempts),
    letter.lastFailedAt.toISOString(),
    letter.error,
  ])
  renderTable(out, ['MODEL', 'KEY', 'ATTEMPTS', 'LAST FAILED', 'ERROR'], rows)
}

export function renderRequeue(out: Output, report: RequeueReport, json: boolean): void {
  for (const missing of report.missing) out.warn(`No dead letter of "${missing.model}" has the key ${formatKey(missing.key)}.`)
  for (const failure of report.failed) {
    out.error(`Requeuing "${failure.model}" ${formatKey(failure.key)} failed: ${failure.error}`)
  }
  if (json) {
    out.json({requeued: report.requeued})
    return
  }
  const total = Object.values(report.requeued).reduce((sum, count) => sum + count, 0)
  const perModel = Object.entries(report.requeued)
    .filter(([, count]) => count > 0)
    .map(([model, count]) => `${model} ${count}`)
  out.result(`${total} dead letter(s) requeued${perModel.length > 0 ? ` (${perModel.join(', ')})` : ''}.`)
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds}s`
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`
  return `${Math.floor(seconds / 86400)}d`
}
