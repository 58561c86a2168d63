// The `signalbus setup` part for --listen: the SQL that installs (or removes) the NOTIFY trigger of each
// signal table, printed for review or applied. PostgreSQL only; other databases get no statements.
import type {DataSource} from 'typeorm'
import {dialectFor} from '../engine/dialects/index.js'
import {describeTable, type SignalTable} from '../engine/signal-table.js'
import type {SignalModel} from '../signal-model.js'
import {dropWakeUpTriggerStatements, wakeUpTriggerStatements} from './triggers.js'

function tableOf(dataSource: DataSource, model: SignalModel): SignalTable {
  return describeTable(dataSource, model.metadata, dialectFor(dataSource).tableQualifier(model.metadata))
}

/** The statements that make inserts into the models' tables wake `--listen`; empty unless PostgreSQL. */
export function listenTriggerStatements(dataSource: DataSource, models: readonly SignalModel[]): string[] {
  if (dataSource.options.type !== 'postgres') return []
  return models.flatMap((model) => wakeUpTriggerStatements(dataSource, tableOf(dataSource, model), model.metadata.schema))
}

/** The statements that remove those triggers again. */
export function dropListenTriggerStatements(dataSource: DataSource, models: readonly SignalModel[]): string[] {
  if (dataSource.options.type !== 'postgres') return []
  return models.flatMap((model) => dropWakeUpTriggerStatements(dataSource, tableOf(dataSource, model)))
}

/**
 * The `signalbus setup` part (shaped as a SetupPart of src/setup/parts.ts: name, description, statements).
 * Its statements are idempotent: the function is replaced and each trigger dropped and created again.
 */
export const listenTriggersPart = {
  name: 'listen-triggers',
  description: 'PostgreSQL: a statement-level AFTER INSERT trigger per signal table that NOTIFYs, so that --listen wakes on insert',
  statements: (context: {readonly dataSource: DataSource; readonly models: readonly SignalModel[]}): string[] =>
    listenTriggerStatements(context.dataSource, context.models),
}
