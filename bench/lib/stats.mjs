// Medians, ratios and the plain-text tables the runner prints.

export function median(values) {
  const sorted = values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return NaN
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

export const ratio = (numerator, denominator) => (denominator > 0 ? numerator / denominator : NaN)

export const round = (value, digits = 2) => (Number.isFinite(value) ? Number(value.toFixed(digits)) : null)

/** Rows of cells as a Markdown table (readable in a terminal, pasteable into docs). */
export function markdownTable(header, rows) {
  const cells = [header, ...rows].map((row) => row.map((cell) => (cell === null || cell === undefined ? '–' : String(cell))))
  const widths = header.map((_, column) => Math.max(3, ...cells.map((row) => row[column].length)))
  const line = (row) => `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`
  return [line(cells[0]), `| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n')
}

export const thousands = (value) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '–')
export const fixed = (value, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–')
