import {expect} from 'chai'
import amqplib from 'amqplib'
import {DeliveryError, RabbitmqPublisher} from '../../src/index.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'

const toQueue = (queue: string, count: number, from = 0) =>
  Array.from({length: count}, (_, index) => ({exchange: '', routingKey: queue, messageId: from + index, body: {n: from + index}}))

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (error) {
    return error as Error
  }
  throw new Error('expected the promise to reject')
}

describe('RabbitmqPublisher', () => {
  let queue: TestQueue
  let publisher: RabbitmqPublisher

  beforeEach(async () => {
    queue = await TestQueue.create()
    publisher = new RabbitmqPublisher({url: RABBITMQ_URL})
  })

  afterEach(async () => {
    await publisher.close()
    await queue.destroy()
  })

  it('resolves when every message of a batch is confirmed, with persistent JSON and the given message ids', async () => {
    await publisher.publish(toQueue(queue.name, 2000))
    expect(await queue.messageCount()).to.equal(2000)
    const ids = await queue.drainMessageIds()
    expect(new Set(ids)).to.have.property('size', 2000)
    expect(ids).to.include.members(['0', '1999'])
  })

  it('rejects with a DeliveryError naming the routing key when a mandatory message is unroutable', async () => {
    const error = await rejection(publisher.publish([{exchange: '', routingKey: `${queue.name}-missing`, body: 'x', mandatory: true}]))
    expect(error).to.be.instanceOf(DeliveryError)
    expect(error.message).to.contain(`routing key "${queue.name}-missing"`).and.to.contain('NO_ROUTE')
  })

  it('rejects with a DeliveryError naming a missing exchange, then publishes again on a new channel', async () => {
    const error = await rejection(publisher.publish([{exchange: 'signalbus-no-such-exchange', routingKey: 'k', body: 'x'}]))
    expect(error).to.be.instanceOf(DeliveryError)
    expect(error.message).to.contain("no exchange 'signalbus-no-such-exchange'")
    await publisher.publish(toQueue(queue.name, 1))
    expect(await queue.messageCount()).to.equal(1)
  })

  it('rejects when the broker nacks (a full queue that rejects publishes)', async () => {
    const connection = await amqplib.connect(RABBITMQ_URL)
    const channel = await connection.createChannel()
    const full = `${queue.name}-full`
    await channel.assertQueue(full, {arguments: {'x-max-length': 1, 'x-overflow': 'reject-publish'}})
    try {
      const error = await rejection(publisher.publish(toQueue(full, 3)))
      expect(error).to.be.instanceOf(DeliveryError)
      expect(error.message).to.match(/nacked/)
    } finally {
      await channel.deleteQueue(full)
      await connection.close()
    }
  })

  it('rejects on a refused login without printing the password', async () => {
    const wrong = new RabbitmqPublisher({url: 'amqp://guest:not-the-password@127.0.0.1:5672'})
    const error = await rejection(wrong.publish(toQueue(queue.name, 1)))
    expect(error).to.be.instanceOf(DeliveryError)
    expect(error.message).to.contain('ACCESS_REFUSED').and.not.to.contain('not-the-password')
    await wrong.close()
  })

  it('times out, leaks no timer into later calls, and publishes again afterwards', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length
    const impatient = new RabbitmqPublisher({url: RABBITMQ_URL, timeoutMs: 1})
    const error = await rejection(impatient.publish(toQueue(queue.name, 3000)))
    expect(error).to.be.instanceOf(DeliveryError)
    expect(error.message).to.contain('did not confirm 3000 message(s) within 1 ms')
    await impatient.close()
    const before = timers()
    const patient = new RabbitmqPublisher({url: RABBITMQ_URL, timeoutMs: 60_000})
    await patient.publish(toQueue(queue.name, 10, 5000))
    await patient.close()
    expect(timers()).to.equal(before)
  })

  it('uses SIGNALBUS_RABBITMQ_URL when no url is given, and hides its password', async () => {
    const saved = process.env.SIGNALBUS_RABBITMQ_URL
    process.env.SIGNALBUS_RABBITMQ_URL = 'amqp://guest:secret-from-env@127.0.0.1:5672'
    try {
      const fromEnv = new RabbitmqPublisher()
      expect(fromEnv.displayUrl).to.equal('amqp://guest:***@127.0.0.1:5672')
      const error = await rejection(fromEnv.publish(toQueue(queue.name, 1)))
      expect(error.message).not.to.contain('secret-from-env')
      await fromEnv.close()
    } finally {
      if (saved === undefined) delete process.env.SIGNALBUS_RABBITMQ_URL
      else process.env.SIGNALBUS_RABBITMQ_URL = saved
    }
  })
})
