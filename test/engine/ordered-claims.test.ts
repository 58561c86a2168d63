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
    })

    afterEach(async () => {
      await isolated.destroy()
    })

    it('composite primary and ordering keys: every row once, each burst and each key in primary-key order', async () => {
      // Keys interleave at random; primary keys run over two shards so that (shard, seq) order is not insert order.
      const rows = Array.from({length: ROWS}, (_, index) => ({
        shard: index % 2,
        seq: index,
        tenantId: Math.floor(Math.random() * TENANTS),
        account: Math.floor(Math.random() * ACCOUNTS),
      }))
      const repository = isolated.dataSource.getRepository(LedgerEntrySignal)
      for (let start = 0; start < rows.length; start += 500) await repository.insert(rows.slice(start, start + 500))

      const signalbus = new SignalBus(isolated.dataSource)
      // SQLite's one connection cannot hold two transactions: one flush there.
      const flushes = dialect === 'sqlite' ? [signalbus.flushmany()] : [signalbus.flushmany(), signalbus.flushmany()]
      const sent = await Promise.all(flushes)
      expect(sent.reduce((sum, count) => sum + count, 0), 'sent').to.equal(ROWS)
      expect(await repository.count()).to.equal(0)

      const primaryOrder = (a: {shard: number; seq: number}, b: {shard: number; seq: number}): number => a.shard - b.shard || a.seq - b.seq
      for (const burst of LedgerEntrySignal.bursts) {
        expect([...burst].sort(primaryOrder), 'a burst in primary-key order').to.deep.equal(burst)
      }
      const delivered = LedgerEntrySignal.bursts.flat()
      expect(new Set(delivered.map((row) => `${row.shard}:${row.seq}`)).size, 'each row once').to.equal(ROWS)
      const byKey = new Map<string, LedgerEntrySignal[]>()
      for (const row of delivered) byKey.set(`${row.tenantId}/${row.account}`, [...(byKey.get(`${row.tenantId}/${row.account}`) ?? []), row])
      for (const [key, ofKey] of byKey) expect([...ofKey].sort(primaryOrder), `key ${key} in primary-key order`).to.deep.equal(ofKey)
    })
  })
}
