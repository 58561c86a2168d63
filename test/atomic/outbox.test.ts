// The outbox use of executeAtomic on every dialect: a business row and its signal row are written in one
// atomic block, a failed block leaves neither, and the real `signalbus flushmany` then sends the signal.
import {expect} from 'chai'
import {executeAtomic} from '../../src/index.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {Customer, Signal} from '../fixtures/signals/entities.js'
import {expectProcessed} from '../helpers/flushing.js'
import {runCli} from '../helpers/run-cli.js'
import {TestDatabase, readSentLog} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 60_000

for (const dialect of DIALECTS) {
  describe(`the outbox with executeAtomic on ${dialect}`, function () {
    this.timeout(60_000)
    let db: TestDatabase

    beforeEach(async () => {
      db = await TestDatabase.create(dialect)
    })

    afterEach(async () => {
      await db.destroy()
    })

    /** Registers a customer and records the signal that announces it, in one transaction. */
    const registerCustomer = (name: string, failAfterWriting = false): Promise<number> =>
      executeAtomic(db.dataSource, async (manager) => {
        const customer = await manager.save(Customer, {name})
        await manager.insert(Signal, {payload: `customer ${customer.id} registered`, tags: ['customer', name]})
        if (failAfterWriting) throw new Error('the registration was refused')
        return customer.id
      })

    it('writes the business row and its signal together, a failed block leaves neither, and flushmany sends the signal', async () => {
      const id = await registerCustomer('Ada')
      const refused = await registerCustomer('Mallory', true).catch((error: Error) => error.message)
      expect(refused).to.equal('the registration was refused')
      expect((await db.dataSource.getRepository(Customer).find()).map((customer) => customer.name)).to.deep.equal(['Ada'])
      expect((await db.dataSource.getRepository(Signal).find()).map((signal) => signal.tags)).to.deep.equal([['customer', 'Ada']])

      const sentLog = db.newSentLog()
      const result = await runCli(['flushmany', 'Signal'], {env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog}), timeoutMs: CLI_TIMEOUT_MS})
      expectProcessed(result, 1)
      expect(readSentLog(sentLog).map(({model, payload, tags}) => ({model, payload, tags}))).to.deep.equal([
        {model: 'Signal', payload: `customer ${id} registered`, tags: ['customer', 'Ada']},
      ])
      expect(await db.count(Signal)).to.equal(0)
      expect(await db.count(Customer)).to.equal(1)
    })
  })
}
