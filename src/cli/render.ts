// Human and JSON renderings of command results (the JSON shapes are documented in the README).
import type {FlushReport} from '../flush-report.js'
import type {SignalModelStatus} from '../signalbus.js'
import type {Output} from './output.js'

export function renderFlushReport(out: Output, report: FlushReport, options: {json: boolean; quietWhenIdle: boolean}): void {
  for (const failure of report.failed) out.error(failure.error)
  if (options.json) {
    out.json({...report, seconds: Number(report.seconds.toFixed(3))})
    return
  }
  if (options.quietWhenIdle && report.sent === 0) return
  const noun = report.sent === 1 ? 'signal has' : 'signals have'
  out.result(`${report.sent} ${noun} been successfully processed.`)
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
  const header = ['NAME', 'TABLE', 'BURST', 'ORDERING', 'PENDING', 'OLDEST']
  const rows = signals.map((signal) => [
    signal.name,
    signal.table,
    String(signal.burstCount),
    signal.orderingKey === null ? '-' : [signal.orderingKey].flat().join(','),
    String(signal.pending),
    signal.oldestPendingSeconds === null ? '-' : formatAge(signal.oldestPendingSeconds),
  ])
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)))
  const line = (cells: string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()
  out.result(out.stdoutColors.bold(line(header)))
  for (const row of rows) out.result(line(row))
}

function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds}s`
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`
  if (seconds < 172800) return `${Math.floor(seconds / 3600)}h`
  return `${Math.floor(seconds / 86400)}d`
}
