// Helpers for the inspection tests: databases confined to their own schema, the `signals` table, and
// rows made older with the database's own clock.
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {DataSource, type DataSourceOptions, type EntityTarget, type ObjectLiteral} from 'typeorm'
import {isolatedConnectionOptions} from '../fixtures/models/isolated.js'
import {connectionOptions, type DialectName} from '../fixtures/signals/data-sources.js'
import {BatchSignal, CompositeSignal, Customer} from '../fixtures/signals/entities.js'
import type {TestDatabase} from './test-database.js'

/** Inserts 3 Signal, 4 CompositeSignal and 5 BatchSignal rows, and 2 rows of the plain entity Customer. */
export async function insertPending(db: TestDatabase): Promise<void> {
  await db.insertSignals(3)
  await db.insert(CompositeSignal, [0, 1, 2, 3].map((seq) => ({shard: seq % 2, seq, payload: `c${seq}`})))
  await db.insert(BatchSignal, [0, 1, 2, 3, 4].map((index) => ({payload: `b${index}`})))
  await db.insert(Customer, [{name: 'Ada'}, {name: 'Grace'}])
}

/** Makes the rows of `entity` `seconds` older by the database's own clock (never this process's clock or time zone). */
export async function backdateCreatedAt(
  dataSource: DataSource,
  dialect: DialectName,
  entity: EntityTarget<ObjectLiteral>,
  seconds: number,
): Promise<void> {
  const metadata = dataSource.getMetadata(entity)
  const column = metadata.createDateColumn
  if (!column) throw new Error(`${metadata.name} has no @CreateDateColumn`)
  const escape = (name: string): string => dataSource.driver.escape(name)
  const table = metadata.tablePath.split('.').map(escape).join('.')
  const past = {
    postgres: `now() - interval '${seconds} seconds'`,
    mariadb: `NOW(6) - INTERVAL ${seconds} SECOND`,
    sqlite: `strftime('%Y-%m-%d %H:%M:%f', 'now', '-${seconds} seconds')`,
  }[dialect]
  await dataSource.query(`UPDATE ${table} SET ${escape(column.databaseName)} = ${past}`)
}

/** The rows of the human `signals` table, header first, cells split on runs of two or more spaces. */
export function parseTable(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.trim().length > 0)
    .map((line) => line.trim().split(/\s{2,}/))
}

/** The `signals` table as records keyed by the header. */
export function tableRecords(stdout: string): Array<Record<string, string>> {
  const [header, ...rows] = parseTable(stdout)
  return rows.map((row) => Object.fromEntries(header!.map((title, index) => [title, row[index] ?? ''])))
}

/**
 * Tables for the given entities in a PostgreSQL schema or a MariaDB database of their own (or an SQLite file
 * in a temporary directory), made with synchronize; destroy() drops the whole schema.
 */
export class IsolatedDatabase {
  private constructor(
    readonly dialect: DialectName,
    readonly schema: string,
    readonly prefix: string,
    readonly directory: string,
    readonly dataSource: DataSource,
  ) {}

  static async create(
    dialect: DialectName,
    entities: Function[],
    options: {prefix?: string; synchronize?: boolean} = {},
  ): Promise<IsolatedDatabase> {
    const schema = `sbt_${randomBytes(4).toString('hex')}`
    const prefix = options.prefix ?? ''
    const directory = mkdtempSync(join(tmpdir(), 'signalbus-inspection-'))
    await adminQuery(dialect, createSchemaSql(dialect, schema))
    const dataSource = new DataSource({
      ...isolatedConnectionOptions(connectionOptions(dialect, join(directory, 'db.sqlite')), dialect === 'sqlite' ? undefined : schema),
      entities,
      entityPrefix: prefix,
      synchronize: options.synchronize ?? true,
    } as DataSourceOptions)
    try {
      await dataSource.initialize()
    } catch (error) {
      await adminQuery(dialect, dropSchemaSql(dialect, schema))
      rmSync(directory, {recursive: true, force: true})
      throw error
    }
    return new IsolatedDatabase(dialect, schema, prefix, directory, dataSource)
  }

  get sqliteFile(): string {
    return join(this.directory, 'db.sqlite')
  }

  /** Environment for a `signalbus` child process whose data source file reads the SIGNALBUS_TEST_* variables. */
  env(dataSourceFile: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      SIGNALBUS_DATA_SOURCE: dataSourceFile,
      SIGNALBUS_TEST_DIALECT: this.dialect,
      SIGNALBUS_TEST_PREFIX: this.prefix,
      SIGNALBUS_TEST_SQLITE: this.sqliteFile,
      SIGNALBUS_TEST_SCHEMA: this.dialect === 'sqlite' ? '' : this.schema,
      ...extra,
    }
  }

  /** Table names in this database (without schema), sorted. */
  async tableNames(): Promise<string[]> {
    if (this.dialect === 'sqlite') return this.names(`SELECT name FROM sqlite_master WHERE type = 'table'`, [])
    return this.names(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ${this.parameter(1)}`, [
      this.schema,
    ])
  }

  /** Column names of one table, sorted. */
  async columnNames(table: string): Promise<string[]> {
    if (this.dialect === 'sqlite') return this.names('SELECT name FROM pragma_table_info(?)', [table])
    const sql =
      'SELECT column_name AS name FROM information_schema.columns ' +
      `WHERE table_schema = ${this.parameter(1)} AND table_name = ${this.parameter(2)}`
    return this.names(sql, [this.schema, table])
  }

  private parameter(index: number): string {
    return this.dialect === 'postgres' ? `$${index}` : '?'
  }

  private async names(sql: string, parameters: string[]): Promise<string[]> {
    const rows = (await this.dataSource.query(sql, parameters)) as Array<{name: string}>
    return rows.map((row) => row.name).sort()
  }

  async destroy(): Promise<void> {
    try {
      if (this.dataSource.isInitialized) await this.dataSource.destroy()
    } finally {
      await adminQuery(this.dialect, dropSchemaSql(this.dialect, this.schema))
      rmSync(this.directory, {recursive: true, force: true})
    }
  }
}

function createSchemaSql(dialect: DialectName, schema: string): string | undefined {
  if (dialect === 'postgres') return `CREATE SCHEMA "${schema}"`
  if (dialect === 'mariadb') return `CREATE DATABASE \`${schema}\``
  return undefined
}

function dropSchemaSql(dialect: DialectName, schema: string): string | undefined {
  if (dialect === 'postgres') return `DROP SCHEMA IF EXISTS "${schema}" CASCADE`
  if (dialect === 'mariadb') return `DROP DATABASE IF EXISTS \`${schema}\``
  return undefined
}

/** Runs one statement on the server's default database (no entities). */
async function adminQuery(dialect: DialectName, sql: string | undefined): Promise<void> {
  if (sql === undefined) return
  const admin = new DataSource(connectionOptions(dialect, ':memory:'))
  await admin.initialize()
  try {
    await admin.query(sql)
  } finally {
    await admin.destroy()
  }
}
