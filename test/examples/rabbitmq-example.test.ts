import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {promisify} from 'node:util'
import amqplib from 'amqplib'
import {DataSource} from 'typeorm'
import {RABBITMQ_URL} from '../helpers/rabbitmq.js'
import {repoRoot} from '../helpers/paths.js'
import {runCli} from '../helpers/run-cli.js'

describe('examples/rabbitmq', () => {
  const suffix = randomBytes(4).toString('hex')
  const env = {
    SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL,
    ORDERS_EXCHANGE: `signalbus-example-orders-${suffix}`,
    ORDERS_QUEUE: `signalbus-example-placed-${suffix}`,
  }
  const database = new DataSource({type: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test'})

  before(async () => {
    await database.initialize()
    await database.query('DROP TABLE IF EXISTS order_placed_signal')
  })

  after(async () => {
    await database.query('DROP TABLE IF EXISTS order_placed_signal')
    await database.destroy()
    const connection = await amqplib.connect(RABBITMQ_URL)
    const channel = await connection.createChannel()
    await channel.deleteQueue(env.ORDERS_QUEUE)
    await channel.deleteExchange(env.ORDERS_EXCHANGE)
    await connection.close()
  })

  it('places 2,000 orders and the CLI delivers their signals to the bound queue as the README shows', async () => {
    await promisify(execFile)(
      process.execPath,
      ['--loader', 'ts-node/esm', '--no-warnings', 'examples/rabbitmq/place-orders.ts', '2000'],
      {cwd: repoRoot, env: {...process.env, ...env}, timeout: 60_000},
    )
    const result = await runCli(['flushmany', '-d', 'examples/rabbitmq/data-source.ts'], {env})
    expect(result.stderrLines).to.deep.equal([])
    expect(result.stdout).to.equal('2000 signals have been successfully processed.\n')
    expect(result.code).to.equal(0)
    const connection = await amqplib.connect(RABBITMQ_URL)
    const channel = await connection.createChannel()
    const {messageCount} = await channel.checkQueue(env.ORDERS_QUEUE)
    const first = await channel.get(env.ORDERS_QUEUE, {noAck: true})
    await connection.close()
    expect(messageCount).to.equal(2000)
    expect(first && JSON.parse(first.content.toString())).to.have.keys('orderId', 'totalCents', 'placedAt')
    expect(first && first.properties.contentType).to.equal('application/json')
    expect(first && first.properties.deliveryMode).to.equal(2)
  })
})
