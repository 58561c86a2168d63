// What the engine tells signalbus's dead-letter bookkeeping when one signal's own send has failed.
import type {SignalModel} from '../signal-model.js'
import type {RawRow, SignalTable} from './signal-table.js'

export type FailureOutcome = 'pending' | 'dead-lettered'

export interface SignalFailure {
  readonly model: SignalModel
  readonly table: SignalTable
  /** The row as claimed (database column names → raw values); it is pending again, its burst rolled back. */
  readonly row: RawRow
  readonly error: unknown
  /** The signal moves to the dead letters when this failure is its maxAttempts-th. */
  readonly maxAttempts: number
}

export interface FailureRecorder {
  /**
   * Counts the failure (across runs and processes) and, once the signal has failed maxAttempts times, moves
   * it to the dead letters in one transaction. Resolves 'pending' when the signal stays in its table.
   */
  recordFailure(failure: SignalFailure): Promise<FailureOutcome>
}
