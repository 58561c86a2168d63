// The Prometheus metrics of a relay (prom-client): counters and the burst histogram are fed by the flush
// observer events, the backlog gauges are read from the database when scraped, at most every few seconds.
import {Counter, Gauge, Histogram, Registry, collectDefaultMetrics} from 'prom-client'
import type {BurstCommitted, DeadLettered, FlushObserver, RoundFinished, SendFailed} from '../flush-observer.js'
import type {SignalModelStatus} from '../signalbus.js'
import {BacklogCache, type BacklogReader} from './backlog-cache.js'

export interface SignalbusMetricsOptions {
  /** Where the metrics are registered (default: a new Registry, see `registry`). */
  registry?: Registry
  /** Register prom-client's default process metrics too (default true). */
  defaultMetrics?: boolean
}

export interface BacklogOptions {
  /** Serve the pending/oldest-age gauges from a reading at most this old (default 5 s). */
  cacheSeconds?: number
  /** How long a scrape waits for a fresh reading before it serves the previous one (default 2 s). */
  waitSeconds?: number
  onError?: (error: unknown) => void
}

/** The outcome label of signalbus_rounds_total. */
export type RoundResult = 'sent' | 'idle' | 'failed'

const BURST_BUCKETS = [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

export class SignalbusMetrics implements FlushObserver {
  readonly registry: Registry
  private readonly sent: Counter<'model'>
  private readonly failures: Counter<'model'>
  private readonly deadLetters: Counter<'model'>
  private readonly bursts: Histogram<'model'>
  private readonly rounds: Counter<'result'>
  private readonly lastRound: Gauge
  private backlog: BacklogCache | undefined

  constructor(options: SignalbusMetricsOptions = {}) {
    const registry = (this.registry = options.registry ?? new Registry())
    const registers = [registry]
    this.sent = new Counter({name: 'signalbus_signals_sent_total', help: 'Signals sent and deleted (committed), per model.', labelNames: ['model'], registers})
    this.failures = new Counter({
      name: 'signalbus_send_failures_total',
      help: 'Signals in bursts whose send failed (they stay pending), per model.',
      labelNames: ['model'],
      registers,
    })
    this.deadLetters = new Counter({
      name: 'signalbus_dead_lettered_total',
      help: 'Signals moved to the dead-letter table, per model.',
      labelNames: ['model'],
      registers,
    })
    this.bursts = new Histogram({
      name: 'signalbus_burst_duration_seconds',
      help: 'One burst from the start of its claim to the end of its commit, per model.',
      labelNames: ['model'],
      buckets: BURST_BUCKETS,
      registers,
    })
    this.rounds = new Counter({
      name: 'signalbus_rounds_total',
      help: 'Flush rounds by outcome: sent (something was sent, nothing failed), idle (nothing to send), failed (a model failed).',
      labelNames: ['result'],
      registers,
    })
    this.lastRound = new Gauge({
      name: 'signalbus_last_round_timestamp_seconds',
      help: 'Unix time when the last flush round finished.',
      registers,
    })
    for (const result of ['sent', 'idle', 'failed'] as const) this.rounds.labels(result).inc(0)
    const backlog = (): BacklogCache | undefined => this.backlog
    new Gauge({
      name: 'signalbus_pending_signals',
      help: 'Signals waiting in the table, per model (read at most every few seconds).',
      labelNames: ['model'],
      registers,
      async collect() {
        this.reset()
        for (const status of (await backlog()?.read()) ?? []) this.labels(status.name).set(status.pending)
      },
    })
    new Gauge({
      name: 'signalbus_oldest_pending_seconds',
      help: 'Age of the oldest pending signal, per model with a @CreateDateColumn; 0 when none is pending.',
      labelNames: ['model'],
      registers,
      async collect() {
        this.reset()
        for (const status of (await backlog()?.read()) ?? []) {
          if (status.oldestPendingSeconds !== null) this.labels(status.name).set(status.oldestPendingSeconds)
          else if (status.pending === 0) this.labels(status.name).set(0)
        }
      },
    })
    if (options.defaultMetrics ?? true) collectDefaultMetrics({register: registry})
  }

  /** Starts every model's counters at 0, so that rate() and alerts see the series before the first event. */
  declareModels(names: readonly string[]): void {
    for (const name of names) {
      this.sent.labels(name).inc(0)
      this.failures.labels(name).inc(0)
      this.deadLetters.labels(name).inc(0)
    }
  }

  /**
   * Serves signalbus_pending_signals and signalbus_oldest_pending_seconds from `read` (typically
   * `() => signalbus.status(models)`), called on scrape and cached, never per burst.
   */
  watchBacklog(read: () => Promise<SignalModelStatus[]>, options: BacklogOptions = {}): void {
    const reader: BacklogReader = {read, onError: options.onError}
    this.backlog = new BacklogCache(reader, (options.cacheSeconds ?? 5) * 1000, (options.waitSeconds ?? 2) * 1000)
  }

  burstCommitted(event: BurstCommitted): void {
    this.sent.labels(event.model).inc(event.count)
    this.bursts.labels(event.model).observe(event.seconds)
  }

  sendFailed(event: SendFailed): void {
    this.failures.labels(event.model).inc(event.count)
  }

  deadLettered(event: DeadLettered): void {
    this.deadLetters.labels(event.model).inc(event.count)
  }

  roundFinished(event: RoundFinished): void {
    this.countRound(event.failed.length > 0 ? 'failed' : event.sent > 0 ? 'sent' : 'idle')
  }

  /** A round the loop saw throw as a whole. */
  countRound(result: RoundResult): void {
    this.rounds.labels(result).inc()
    this.lastRound.set(Date.now() / 1000)
  }

  /** The exposition text (what GET /metrics serves). */
  async text(): Promise<string> {
    return this.registry.metrics()
  }

  get contentType(): string {
    return this.registry.contentType
  }
}
