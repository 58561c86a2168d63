// The one flush engine: claims bursts of rows, hands them to the model's send method and commits, one
// transaction per burst. Every flushing command and library call goes through flushModel().
import type {DataSource, QueryRunner} from 'typeorm'
import type {Logger} from '../logger.js'
import type {SignalModel} from '../signal-model.js'
import type {Dialect} from './dialects/index.js'
import {DatabaseError, SignalSendError, describeError} from '../errors.js'
import {describeTable, entityFromRow, type SignalTable} from './signal-table.js'
import {sendSignals} from './send-signals.js'

const CLAIM_ATTEMPTS = 5

export interface FlushModelOptions {
  /** Signals per transaction. */
  burst: number
  /** Stop after this many signals (for flush: those pending when it was called). */
  maxSignals?: number
  /** Checked between bursts: a burst in progress always finishes (commit or rollback). */
  signal?: AbortSignal
  onBurst?: (model: SignalModel, sent: number) => void
}

export class FlushEngine {
  private checkedServer: Promise<void> | undefined

  constructor(
    private readonly dataSource: DataSource,
    readonly dialect: Dialect,
    private readonly logger: Logger,
  ) {}

  table(model: SignalModel): SignalTable {
    return describeTable(this.dataSource, model.metadata, this.dialect.tableQualifier(model.metadata))
  }

  /** Sends and deletes the model's pending signals, burst by burst; returns how many were sent. */
  async flushModel(model: SignalModel, options: FlushModelOptions): Promise<number> {
    const table = this.table(model)
    const runner = this.dataSource.createQueryRunner()
    let sent = 0
    try {
      await this.checkServerOnce(runner)
      while (!options.signal?.aborted) {
        const limit = Math.min(options.burst, (options.maxSignals ?? Infinity) - sent)
        if (limit <= 0) break
        const count = await this.flushBurst(runner, model, table, limit)
        sent += count
        if (count > 0) options.onBurst?.(model, count)
        if (count < limit) break
      }
      return sent
    } finally {
      await runner.release()
    }
  }

  private checkServerOnce(runner: QueryRunner): Promise<void> {
    this.checkedServer ??= this.dialect.checkServer(runner).catch((error: unknown) => {
      this.checkedServer = undefined
      throw error
    })
    return this.checkedServer
  }

  private async flushBurst(runner: QueryRunner, model: SignalModel, table: SignalTable, limit: number): Promise<number> {
    const rows = await this.claimWithRetry(runner, table, limit)
    if (rows.length === 0) {
      await this.finish(runner, table)
      return 0
    }
    try {
      const signals = rows.map((row) => entityFromRow(this.dataSource, model.metadata, row))
      await sendSignals(model, signals)
    } catch (error) {
      await this.rollbackQuietly(runner, table)
      throw new SignalSendError(
        model.name,
        `Sending ${rows.length} signal(s) of "${model.name}" failed: ${describeError(error)}`,
        {cause: error},
      )
    }
    await this.finish(runner, table)
    this.logger.debug(`${model.name}: sent and deleted ${rows.length} signal(s)`)
    return rows.length
  }

  /** Begins a transaction and claims rows; a deadlock here is harmless (nothing was sent) and retried. */
  private async claimWithRetry(runner: QueryRunner, table: SignalTable, limit: number) {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.dialect.begin(runner)
        return await this.dialect.claim(runner, table, limit)
      } catch (error) {
        await this.rollbackQuietly(runner, table)
        if (attempt < CLAIM_ATTEMPTS && this.dialect.isTransient(error)) {
          this.logger.debug(`${table.displayName}: claim attempt ${attempt} failed (${describeError(error)}); retrying`)
          continue
        }
        throw databaseFailure(`Claiming signals from ${table.displayName}`, runner, error)
      }
    }
  }

  private async finish(runner: QueryRunner, table: SignalTable): Promise<void> {
    try {
      await this.dialect.commit(runner)
    } catch (error) {
      await this.rollbackQuietly(runner, table)
      throw databaseFailure(`Committing the burst of ${table.displayName}`, runner, error)
    }
  }

  private async rollbackQuietly(runner: QueryRunner, table: SignalTable): Promise<void> {
    try {
      await this.dialect.rollback(runner)
    } catch (error) {
      this.logger.debug(`${table.displayName}: rollback failed (${describeError(error)})`)
    }
  }
}

/**
 * When the server closes the connection (killed session, restart), TypeORM releases the query runner and
 * keeps the driver's error to itself; what reaches us then is "Query runner already released". Say what
 * happened instead.
 */
function databaseFailure(action: string, runner: QueryRunner, error: unknown): DatabaseError {
  const reason = runner.isReleased
    ? 'the database connection was lost (the burst was not committed; its rows stay pending)'
    : describeError(error)
  return new DatabaseError(`${action} failed: ${reason}`, {cause: error})
}
