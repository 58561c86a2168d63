// Each test gets its own tables (a unique entityPrefix) on one dialect, and drops them afterwards.
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import type {DataSource, ObjectLiteral, EntityTarget} from 'typeorm'
import {initializeForFlushing} from '../../src/index.js'
import {makeDataSource, type DialectName} from '../fixtures/signals/data-sources.js'
import {Signal} from '../fixtures/signals/entities.js'
import {readJsonLines, type SentRecord} from '../fixtures/signals/test-controls.js'
import {repoRoot} from './paths.js'

const INSERT_CHUNK = 500

/** A fixture's compiled JavaScript (tests run from test-dist/). */
export function compiledFixture(relative: string): string {
  return join(repoRoot, 'test-dist', 'test', 'fixtures', relative)
}

export class TestDatabase {
  private constructor(
    readonly dialect: DialectName,
    readonly prefix: string,
    readonly directory: string,
    readonly dataSource: DataSource,
    private readonly fixture: string,
  ) {}

  /**
   * `fixture` names the compiled data-source module the CLI child loads (relative to test/fixtures);
   * `entities` must be the ones that module registers.
   */
  static async create(
    dialect: DialectName,
    options: {entities?: Function[]; fixture?: string} = {},
  ): Promise<TestDatabase> {
    const prefix = `sbt_${randomBytes(4).toString('hex')}_`
    const directory = mkdtempSync(join(tmpdir(), 'signalbus-test-'))
    const sqliteFile = join(directory, 'signals.sqlite')
    const dataSource = makeDataSource({dialect, prefix, sqliteFile, entities: options.entities})
    // The same connection options the CLI sets (initializeForFlushing), plus the tables.
    await initializeForFlushing(dataSource)
    await dataSource.synchronize()
    return new TestDatabase(dialect, prefix, directory, dataSource, options.fixture ?? 'signals/cli-data-source.js')
  }

  get sqliteFile(): string {
    return join(this.directory, 'signals.sqlite')
  }

  /** A fresh file the fixture models append their sent signals to. */
  newSentLog(): string {
    return join(this.directory, `sent-${randomBytes(4).toString('hex')}.jsonl`)
  }

  /** Environment for a `signalbus` child process using these tables. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      SIGNALBUS_DATA_SOURCE: compiledFixture(this.fixture),
      SIGNALBUS_TEST_DIALECT: this.dialect,
      SIGNALBUS_TEST_PREFIX: this.prefix,
      SIGNALBUS_TEST_SQLITE: this.sqliteFile,
      ...extra,
    }
  }

  async insert<T extends ObjectLiteral>(entity: EntityTarget<T>, rows: Array<Partial<T>>): Promise<void> {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      const chunk = rows.slice(start, start + INSERT_CHUNK)
      await this.dataSource.createQueryBuilder().insert().into(entity).values(chunk as never).updateEntity(false).execute()
    }
  }

  /** Inserts `count` rows into the Signal table with payloads p0, p1, … (offset by `from`). */
  async insertSignals(count: number, from = 0): Promise<void> {
    const rows = Array.from({length: count}, (_, index) => ({payload: `p${from + index}`, tags: ['a', `t${from + index}`]}))
    await this.insert(Signal, rows)
  }

  async count(entity: EntityTarget<ObjectLiteral>): Promise<number> {
    return this.dataSource.getRepository(entity).count()
  }

  async destroy(): Promise<void> {
    const runner = this.dataSource.createQueryRunner()
    try {
      for (const metadata of this.dataSource.entityMetadatas) await runner.dropTable(metadata.tablePath, true)
    } finally {
      await runner.release()
      await this.dataSource.destroy()
      rmSync(this.directory, {recursive: true, force: true})
    }
  }
}

export const readSentLog = (file: string): SentRecord[] => readJsonLines<SentRecord>(file)

/** Keys that occur more than once. */
export function duplicates(keys: string[]): string[] {
  const seen = new Set<string>()
  const repeated = new Set<string>()
  for (const key of keys) (seen.has(key) ? repeated : seen).add(key)
  return [...repeated]
}
