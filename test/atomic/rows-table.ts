// A plain table the conflict tests read and write with SQL of their own: (id primary key, name unique, value).
// It takes the test's table prefix and is dropped by the test.
import type {DataSource, EntityManager} from 'typeorm'
import type {TestDatabase} from '../helpers/test-database.js'

export interface Row {
  id: number
  name?: string
  value: number
}

export class RowsTable {
  private constructor(
    private readonly dataSource: DataSource,
    private readonly sqlName: string,
    private readonly param: (position: number) => string,
  ) {}

  static async create(db: TestDatabase): Promise<RowsTable> {
    const sqlName = db.dataSource.driver.escape(`${db.prefix}atomic_rows`)
    const param = db.dialect === 'postgres' ? (position: number) => `$${position}` : () => '?'
    await db.dataSource.query(`CREATE TABLE ${sqlName} (id INT PRIMARY KEY, name VARCHAR(50) NULL UNIQUE, value INT NOT NULL)`)
    return new RowsTable(db.dataSource, sqlName, param)
  }

  async drop(): Promise<void> {
    await this.dataSource.query(`DROP TABLE IF EXISTS ${this.sqlName}`)
  }

  async insert(manager: EntityManager, row: Row): Promise<void> {
    await manager.query(`INSERT INTO ${this.sqlName} (id, name, value) VALUES (${this.param(1)}, ${this.param(2)}, ${this.param(3)})`, [
      row.id,
      row.name ?? null,
      row.value,
    ])
  }

  /** A plain (non-locking) read: under REPEATABLE READ it comes from the transaction's snapshot. */
  async value(manager: EntityManager, id: number): Promise<number> {
    const rows = (await manager.query(`SELECT value FROM ${this.sqlName} WHERE id = ${this.param(1)}`, [id])) as Array<{value: number}>
    if (rows[0] === undefined) throw new Error(`no row ${id}`)
    return Number(rows[0].value)
  }

  async valueByName(manager: EntityManager, name: string): Promise<number | undefined> {
    const rows = (await manager.query(`SELECT value FROM ${this.sqlName} WHERE name = ${this.param(1)}`, [name])) as Array<{value: number}>
    return rows[0] === undefined ? undefined : Number(rows[0].value)
  }

  async setValue(manager: EntityManager, id: number, value: number): Promise<void> {
    await manager.query(`UPDATE ${this.sqlName} SET value = ${this.param(1)} WHERE id = ${this.param(2)}`, [value, id])
  }

  /** Locks the row (an UPDATE), which is what makes two transactions wait for each other. */
  async increment(manager: EntityManager, id: number): Promise<void> {
    await manager.query(`UPDATE ${this.sqlName} SET value = value + 1 WHERE id = ${this.param(1)}`, [id])
  }

  async countWhereValue(manager: EntityManager, value: number): Promise<number> {
    const rows = (await manager.query(`SELECT COUNT(*) AS n FROM ${this.sqlName} WHERE value = ${this.param(1)}`, [value])) as Array<{n: string}>
    return Number(rows[0]!.n)
  }

  async values(): Promise<Record<number, number>> {
    const rows = (await this.dataSource.query(`SELECT id, value FROM ${this.sqlName} ORDER BY id`)) as Array<{id: number; value: number}>
    return Object.fromEntries(rows.map((row) => [Number(row.id), Number(row.value)]))
  }
}
