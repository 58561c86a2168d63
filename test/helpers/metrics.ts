// Reading a running flusher's HTTP endpoint: /metrics parsed as Prometheus exposition text, and the probes.
import {expect} from 'chai'
import parsePrometheusTextFormat, {type ParsedFamily} from 'parse-prometheus-text-format'

export interface Scrape {
  text: string
  families: ParsedFamily[]
}

export async function scrape(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`)
  expect(response.status, '/metrics status').to.equal(200)
  expect(response.headers.get('content-type'), 'content type').to.match(/^text\/plain; version=0\.0\.4/)
  const text = await response.text()
  return {text, families: parsePrometheusTextFormat(text)}
}

/** The value of one sample (by its labels), or undefined when the series is absent. */
export function sample(scraped: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const family = scraped.families.find((candidate) => candidate.name === name)
  const found = family?.metrics.find((metric) =>
    Object.entries(labels).every(([label, value]) => metric.labels?.[label] === value),
  )
  return found?.value === undefined ? undefined : Number(found.value)
}

/** Sum of a counter over all its label values. */
export function total(scraped: Scrape, name: string): number {
  const family = scraped.families.find((candidate) => candidate.name === name)
  return (family?.metrics ?? []).reduce((sum, metric) => sum + Number(metric.value ?? 0), 0)
}

export interface Probe {
  status: number
  body: Record<string, unknown>
}

/** GET /healthz or /readyz; a refused connection is status 0 (the server is not up yet). */
export async function probe(port: number, path: '/healthz' | '/readyz'): Promise<Probe> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`)
    return {status: response.status, body: (await response.json()) as Record<string, unknown>}
  } catch {
    return {status: 0, body: {}}
  }
}
