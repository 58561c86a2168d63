// The ordered claims' SQL on every dialect, in-process: a composite primary key, a composite ordering key with a
// column name of its own, a schema-qualified table; two flushes of one SignalBus side by side (SQLite: one).
import {expect} from 'chai'
import {SignalBus} from '../../src/index.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {LedgerEntrySignal} from '../fixtures/models/entities.js'
import {IsolatedDatabase} from '../helpers/inspection.js'

const ROWS = 2000
const TENANTS = 3
const ACCOUNTS = 7

for (const dialect of DIALECTS) {
  describe(`ordered claims on ${dialect}`, function () {
    this.timeout(60_000)
    let isolated: IsolatedDatabase

    beforeEach(async () => {
      isolated = await IsolatedDatabase.create(dialect, [LedgerEntrySignal])
      LedgerEntrySignal.bursts.length = 0
      LedgerEntrySignal.failing = undefined
      LedgerEntrySignal.sendCalls = 0
    })

    afterEach(async () => {
      await isolated.destroy()
    })

    const primaryOrder = (a: {shard: number; seq: number}, b: {shard: number; seq: number}): number => a.shard - b.shard || a.seq - b.seq
    const keyOf = (row: {tenantId: number; account: number}): string => `${row.tenantId}/${row.account}`

    /** Keys interleave at random; primary keys run over two shards so that (shard, seq) order is not insert order. */
    async function insertRows(): Promise<Array<{shard: number; seq: number; tenantId: number; account: number}>> {
      const rows = Array.from({length: ROWS}, (_, index) => ({
        shard: index % 2,
        seq: index,
        tenantId: Math.floor(Math.random() * TENANTS),
        account: Math.floor(Math.random() * ACCOUNTS),
      }))
      const repository = isolated.dataSource.getRepository(LedgerEntrySignal)
      for (let start = 0; start < rows.length; start += 500) await repository.insert(rows.slice(start, start + 500))
      return rows
    }

    /** Every delivered key's rows, in delivery order, are in primary-key order. */
    function expectEachKeyInOrder(delivered: readonly LedgerEntrySignal[]): void {
      const byKey = new Map<string, LedgerEntrySignal[]>()
      for (const row of delivered) byKey.set(keyOf(row), [...(byKey.get(keyOf(row)) ?? []), row])
      for (const [key, ofKey] of byKey) expect([...ofKey].sort(primaryOrder), `key ${key} in primary-key order`).to.deep.equal(ofKey)
    }

    it('narrowing a failing burst keeps order: the failing row holds back its key from itself on, every other row is delivered once, in order', async () => {
      const rows = await insertRows()
      const sorted = [...rows].sort(primaryOrder)
      const failing = sorted[Math.floor(ROWS / 3)]!
      LedgerEntrySignal.failing = `${failing.shard}:${failing.seq}`
      const signalbus = new SignalBus(isolated.dataSource)
      const flushes = dialect === 'sqlite' ? [signalbus.flushmanyReport()] : [signalbus.flushmanyReport(), signalbus.flushmanyReport()]
      const reports = await Promise.all(flushes)
      expect(reports.some((report) => (report.failedSignals.LedgerEntrySignal?.pending ?? 0) === 1), 'a flush found the failing row').to.equal(true)

      const heldBack = sorted.filter((row) => keyOf(row) === keyOf(failing) && primaryOrder(row, failing) >= 0)
      const delivered = LedgerEntrySignal.bursts.flat()
      for (const burst of LedgerEntrySignal.bursts) expect([...burst].sort(primaryOrder), 'a burst in primary-key order').to.deep.equal(burst)
      expect(new Set(delivered.map((row) => `${row.shard}:${row.seq}`)).size, 'each row once').to.equal(delivered.length)
      expectEachKeyInOrder(delivered)
      const pending = await isolated.dataSource.getRepository(LedgerEntrySignal).find()
      expect(pending.map((row) => `${row.shard}:${row.seq}`).sort(), "pending: the failing row and its key's later rows").to.deep.equal(
        heldBack.map((row) => `${row.shard}:${row.seq}`).sort(),
      )
      expect(delivered.length, 'delivered: everything else').to.equal(ROWS - heldBack.length)
      console.log(`      ${delivered.length} delivered, ${heldBack.length} held back, ${LedgerEntrySignal.sendCalls - LedgerEntrySignal.bursts.length} failed send calls, 0 order violations`)
    })

    it('signalbus setup recommends the (ordering key, primary key) index; applied twice, it is there once', async () => {
      const signalbus = new SignalBus(isolated.dataSource)
      const part = signalbus.setupPlan([LedgerEntrySignal]).parts.find((each) => each.name === 'ordering-index')
      if (dialect === 'sqlite') return expect(part, 'no index part on SQLite').to.equal(undefined)
      expect(part, 'the ordering-index part').to.not.equal(undefined)
      const runner = isolated.dataSource.createQueryRunner()
      try {
        for (let time = 0; time < 2; time++) for (const statement of part!.statements) await runner.query(statement)
      } finally {
        await runner.release()
      }
      const table = isolated.dataSource.getMetadata(LedgerEntrySignal).tableName
      const columns = (await isolated.dataSource.query(
        dialect === 'postgres'
          ? `SELECT a.attname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid ` +
              `JOIN unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position) ON true ` +
              `JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum ` +
              `WHERE c.relname = '${table}_signalbus_ordering' ORDER BY k.position`
          : `SELECT column_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() ` +
              `AND index_name = '${table}_signalbus_ordering' ORDER BY seq_in_index`,
      )) as Array<{name: string}>
      expect(columns.map((column) => column.name)).to.deep.equal(['tenant_id', 'account', 'shard', 'seq'])
    })

    it('composite primary and ordering keys: every row once, each burst and each key in primary-key order', async () => {
      await insertRows()
      const repository = isolated.dataSource.getRepository(LedgerEntrySignal)

      const signalbus = new SignalBus(isolated.dataSource)
      // SQLite's one connection cannot hold two transactions: one flush there.
      const flushes = dialect === 'sqlite' ? [signalbus.flushmany()] : [signalbus.flushmany(), signalbus.flushmany()]
      const sent = await Promise.all(flushes)
      expect(sent.reduce((sum, count) => sum + count, 0), 'sent').to.equal(ROWS)
      expect(await repository.count()).to.equal(0)

      for (const burst of LedgerEntrySignal.bursts) {
        expect([...burst].sort(primaryOrder), 'a burst in primary-key order').to.deep.equal(burst)
      }
      const delivered = LedgerEntrySignal.bursts.flat()
      expect(new Set(delivered.map((row) => `${row.shard}:${row.seq}`)).size, 'each row once').to.equal(ROWS)
      expectEachKeyInOrder(delivered)
    })
  })
}
