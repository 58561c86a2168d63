// The opt-in DDL that makes inserts wake `--listen` (PostgreSQL): one statement-level AFTER INSERT trigger
// per signal table, calling a shared function that notifies the table's channel. Statement-level, so a
// 500-row INSERT notifies once; PostgreSQL also folds identical notifications of one transaction into one.
import type {DataSource, QueryRunner} from 'typeorm'
import type {SignalTable} from '../engine/signal-table.js'
import {channelFor} from './channels.js'

export const TRIGGER_NAME = 'signalbus_notify'
const FUNCTION_NAME = 'signalbus_notify'

/** A string as an SQL literal (standard_conforming_strings is on by default since 9.1). */
function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`
}

/** The function, in the table's schema when it has one (else the search path's first schema). */
function functionName(dataSource: DataSource, schema: string | undefined): string {
  return [schema, FUNCTION_NAME].filter((part) => part !== undefined).map((part) => dataSource.driver.escape(part!)).join('.')
}

/** Idempotent statements (re-running them replaces the trigger) for one signal table. */
export function wakeUpTriggerStatements(dataSource: DataSource, table: SignalTable, schema: string | undefined): string[] {
  const fn = functionName(dataSource, schema)
  const trigger = dataSource.driver.escape(TRIGGER_NAME)
  return [
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $signalbus$
BEGIN
  PERFORM pg_notify(TG_ARGV[0], '');
  RETURN NULL;
END
$signalbus$`,
    `DROP TRIGGER IF EXISTS ${trigger} ON ${table.sqlName}`,
    // EXECUTE PROCEDURE (not FUNCTION) keeps PostgreSQL 9.5–10 working; newer servers accept both.
    `CREATE TRIGGER ${trigger} AFTER INSERT ON ${table.sqlName} FOR EACH STATEMENT EXECUTE PROCEDURE ${fn}(${literal(channelFor(table.displayName))})`,
  ]
}

/** Statements that remove what wakeUpTriggerStatements created for the table (the shared function stays). */
export function dropWakeUpTriggerStatements(dataSource: DataSource, table: SignalTable): string[] {
  return [`DROP TRIGGER IF EXISTS ${dataSource.driver.escape(TRIGGER_NAME)} ON ${table.sqlName}`]
}

/** True when the table has the trigger (a table that does not exist has none). */
export async function hasWakeUpTrigger(runner: QueryRunner, table: SignalTable): Promise<boolean> {
  const rows = (await runner.query(
    'SELECT 1 AS found FROM pg_trigger WHERE tgname = $1 AND tgrelid = to_regclass($2) AND NOT tgisinternal',
    [TRIGGER_NAME, table.sqlName],
  )) as unknown[]
  return rows.length > 0
}
