// What `signalbus setup` can create, as a list of independent parts: each gives its statements for the data
// source's database (none when it has nothing there). Adding a capability that needs DDL is one entry here.
import type {DataSource} from 'typeorm'
import type {BookkeepingDialect, BookkeepingTables} from '../engine/dialects/bookkeeping/index.js'
import type {SignalTable} from '../engine/signal-table.js'
import type {SignalModel} from '../signal-model.js'
import {listenTriggersPart} from '../listen/setup.js'
import {deadLettersPart} from './dead-letters-part.js'
import {orderingIndexPart} from './ordering-index-part.js'

export interface SetupContext {
  readonly dataSource: DataSource
  /** The data source's database type (`postgres`, `mysql`, `mariadb`, `better-sqlite3`). */
  readonly databaseType: string
  readonly bookkeeping: BookkeepingDialect
  readonly tables: BookkeepingTables
  /** The signal models setup was asked for (default: all), for parts that act on signal tables. */
  readonly models: readonly SignalModel[]
  tableOf(model: SignalModel): SignalTable
}

export interface SetupPart {
  readonly name: string
  /** One line for humans: what the part creates and what it is for. */
  readonly description: string
  /** Idempotent statements (IF NOT EXISTS, CREATE OR REPLACE …); [] where the part does not apply. */
  statements(context: SetupContext): string[]
}

export const SETUP_PARTS: readonly SetupPart[] = [deadLettersPart, listenTriggersPart, orderingIndexPart]
