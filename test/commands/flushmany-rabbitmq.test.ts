import {expect} from 'chai'
import {RabbitSignal} from '../fixtures/rabbitmq/entities.js'
import {RABBITMQ_URL, TestQueue, closeAllBrokerConnections, waitForBlockedConnection, withPublishingBlocked} from '../helpers/rabbitmq.js'
import {runCli, startCli} from '../helpers/run-cli.js'
import {TestDatabase, duplicates} from '../helpers/test-database.js'

const SERVER_DIALECTS = ['postgres', 'mariadb'] as const

for (const dialect of SERVER_DIALECTS) {
  describe(`signalbus flushmany into RabbitMQ on ${dialect}`, () => {
    let db: TestDatabase
    let queue: TestQueue

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: [RabbitSignal], fixture: 'rabbitmq/cli-data-source.js'})
      queue = await TestQueue.create()
    })

    afterEach(async () => {
      await queue.destroy()
      await db.destroy()
    })

    const seed = async (count: number): Promise<string[]> => {
      await db.insert(RabbitSignal, Array.from({length: count}, (_, index) => ({payload: `m${index}`})))
      const rows = await db.dataSource.getRepository(RabbitSignal).find({select: {id: true}})
      return rows.map((row) => String(row.id))
    }
    const env = (extra: Record<string, string> = {}) =>
      db.env({SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL, SIGNALBUS_TEST_ROUTING_KEY: queue.name, ...extra})

    it('delivers 10,000 signals: the queue holds exactly the rows’ keys as message ids and the table is empty', async () => {
      const keys = await seed(10_000)
      const result = await runCli(['flushmany'], {env: env()})
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      expect(result.stdout).to.equal('10000 signals have been successfully processed.\n')
      expect(await queue.messageCount()).to.equal(10_000)
      const ids = await queue.drainMessageIds()
      expect(duplicates(ids)).to.deep.equal([])
      expect(ids.sort()).to.deep.equal(keys.sort())
      expect(await db.count(RabbitSignal)).to.equal(0)
    })

    it('exits 1 and keeps the rows pending when a mandatory message is unroutable', async () => {
      await seed(20)
      const result = await runCli(['flushmany'], {
        env: env({SIGNALBUS_TEST_ROUTING_KEY: `${queue.name}-missing`, SIGNALBUS_TEST_MANDATORY: '1'}),
      })
      expect(result.code).to.equal(1)
      expect(result.stderrLines).to.have.length(1)
      expect(result.stderrLines[0]).to.contain('could not be routed')
      expect(await db.count(RabbitSignal)).to.equal(20)
    })

    it('exits 1 with an error naming a missing exchange, rows pending', async () => {
      await seed(5)
      const result = await runCli(['flushmany'], {env: env({SIGNALBUS_TEST_EXCHANGE: 'signalbus-test-missing-exchange'})})
      expect(result.code).to.equal(1)
      expect(result.stderrLines).to.have.length(1)
      expect(result.stderrLines[0]).to.contain("no exchange 'signalbus-test-missing-exchange'")
      expect(await db.count(RabbitSignal)).to.equal(5)
    })

    it('exits 1 when the broker refuses the login, without printing the password, rows pending', async () => {
      await seed(5)
      const result = await runCli(['flushmany'], {env: env({SIGNALBUS_RABBITMQ_URL: 'amqp://guest:hunter2-wrong@127.0.0.1:5672'})})
      expect(result.code).to.equal(1)
      expect(result.stderrLines).to.have.length(1)
      expect(result.stderrLines[0]).to.contain('ACCESS_REFUSED')
      expect(result.stderr + result.stdout).not.to.contain('hunter2-wrong')
      expect(await db.count(RabbitSignal)).to.equal(5)
    })

    it('keeps the unconfirmed burst pending when the broker closes the connection mid-flush; the next run delivers it', async () => {
      // ~10 s of flushing left when the first burst arrives: time enough for the slow rabbitmqctl calls.
      const keys = await seed(5000)
      const run = startCli(['flushmany', '--burst', '100'], {env: env({SIGNALBUS_TEST_SEND_DELAY_MS: '200'})})
      const deadline = Date.now() + 20_000
      while ((await queue.messageCount()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
      await withPublishingBlocked(async () => {
        await waitForBlockedConnection(20_000)
        await closeAllBrokerConnections()
      })
      const first = await run.done
      expect(first.code).to.equal(1)
      expect(first.stderrLines).to.have.length(1)
      expect(first.stderrLines[0]).to.match(/^Error: Sending 100 signal\(s\) of "RabbitSignal" failed: .*not confirmed/)
      // Messages of the unconfirmed burst may already sit in the queue: they will be duplicates, never losses.
      const pending = (await db.dataSource.getRepository(RabbitSignal).find({select: {id: true}})).map((row) => String(row.id))
      const delivered = await queue.drainMessageIds()
      expect(pending.length).to.be.at.least(100)
      expect(new Set([...delivered, ...pending])).to.deep.equal(new Set(keys))

      const second = await runCli(['flushmany'], {env: env()})
      expect(second.stderrLines).to.deep.equal([])
      expect(second.code).to.equal(0)
      expect(await db.count(RabbitSignal)).to.equal(0)
      const all = [...delivered, ...(await queue.drainMessageIds())]
      expect(new Set(all)).to.deep.equal(new Set(keys))
      expect(duplicates(all).length).to.be.at.most(100)
      console.log(`      (delivered ${all.length} messages for ${keys.length} rows: ${duplicates(all).length} duplicate(s))`)
    })
  })
}
