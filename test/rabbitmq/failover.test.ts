import {expect} from 'chai'
import amqplib, {type Channel, type ChannelModel} from 'amqplib'
import {randomBytes} from 'node:crypto'
import {DeliveryError, RabbitmqPublisher} from '../../src/index.js'
import {BrokerProxy, closedPort} from '../helpers/faults.js'
import {RABBITMQ_URL} from '../helpers/rabbitmq.js'

const toQueue = (queue: string, count: number, from = 0) =>
  Array.from({length: count}, (_, index) => ({exchange: '', routingKey: queue, messageId: from + index, body: {n: from + index}}))

async function rejection(promise: Promise<unknown>): Promise<DeliveryError> {
  try {
    await promise
  } catch (error) {
    return error as DeliveryError
  }
  throw new Error('expected the promise to reject')
}

describe('RabbitmqPublisher: several broker URLs (failover)', () => {
  let admin: ChannelModel
  let channel: Channel
  let queue: string
  const proxies: BrokerProxy[] = []

  /** A proxy in front of the one test broker stands for one node of a cluster. */
  const node = async (): Promise<BrokerProxy> => {
    const proxy = await BrokerProxy.start()
    proxies.push(proxy)
    return proxy
  }
  const refusedUrl = async (): Promise<string> => `amqp://guest:s3cret-node-pw@127.0.0.1:${await closedPort()}`
  const queued = async (): Promise<number> => (await channel.checkQueue(queue)).messageCount

  /** A logger that records warnings, and a way to wait for the publisher to notice a lost connection. */
  const watchingLogger = () => {
    const warnings: string[] = []
    const ignore = (): void => {}
    return {
      logger: {debug: ignore, info: ignore, error: ignore, warn: (line: string) => warnings.push(line)},
      warnings,
      async lost(count: number): Promise<void> {
        const deadline = Date.now() + 5000
        while (warnings.filter((line) => line.includes('was closed')).length < count) {
          if (Date.now() > deadline) throw new Error(`the publisher did not notice lost connection ${count}: ${warnings.join(' | ')}`)
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
      },
    }
  }

  beforeEach(async () => {
    admin = await amqplib.connect(RABBITMQ_URL)
    channel = await admin.createChannel()
    queue = `signalbus-test-quorum-${randomBytes(4).toString('hex')}`
    await channel.assertQueue(queue, {durable: true, arguments: {'x-queue-type': 'quorum'}})
  })

  afterEach(async () => {
    for (const proxy of proxies.splice(0)) await proxy.close()
    await channel.deleteQueue(queue)
    await admin.close()
  })

  it('delivers to a quorum queue through the second URL when the first refuses connections', async () => {
    const publisher = new RabbitmqPublisher({urls: [await refusedUrl(), RABBITMQ_URL]})
    try {
      await publisher.publish(toQueue(queue, 100))
      expect(await queued()).to.equal(100)
    } finally {
      await publisher.close()
    }
  })

  it('reads several comma-separated URLs from SIGNALBUS_RABBITMQ_URL, passwords masked in displayUrl', async () => {
    const saved = process.env.SIGNALBUS_RABBITMQ_URL
    const refused = await refusedUrl()
    process.env.SIGNALBUS_RABBITMQ_URL = `${refused}, ${RABBITMQ_URL}`
    try {
      const publisher = new RabbitmqPublisher()
      expect(publisher.displayUrl).to.match(/^amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+, amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672$/)
      await publisher.publish(toQueue(queue, 10))
      await publisher.close()
      expect(await queued()).to.equal(10)
    } finally {
      if (saved === undefined) delete process.env.SIGNALBUS_RABBITMQ_URL
      else process.env.SIGNALBUS_RABBITMQ_URL = saved
    }
  })

  it('after a cut connection the next publish goes through the other node, round-robin from the lost one', async () => {
    const [first, second] = [await node(), await node()]
    const watch = watchingLogger()
    const publisher = new RabbitmqPublisher({urls: [first.url, second.url], logger: watch.logger})
    try {
      await publisher.publish(toQueue(queue, 10, 0))
      expect([first.openConnections, second.openConnections], 'connected to the first node').to.deep.equal([1, 0])
      first.cut()
      await watch.lost(1)
      // The first node is reachable again at once: still, the node after the lost one is tried first.
      await publisher.publish(toQueue(queue, 10, 100))
      expect([first.openConnections, second.openConnections], 'then to the second').to.deep.equal([0, 1])
      second.cut()
      await watch.lost(2)
      await publisher.publish(toQueue(queue, 10, 200))
      expect([first.openConnections, second.openConnections], 'and back to the first').to.deep.equal([1, 0])
      expect(await queued()).to.equal(30)
      expect(watch.warnings[0]).to.match(/^The RabbitMQ connection to amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ was closed.*; the next publish tries amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ first\.$/)
    } finally {
      await publisher.close()
    }
  })

  it('a publish in flight when its node is lost rejects; the retry is delivered through the other node', async () => {
    const [first, second] = [await node(), await node()]
    const publisher = new RabbitmqPublisher({urls: [first.url, second.url]})
    try {
      await publisher.publish(toQueue(queue, 1, 0))
      first.hold()
      const inFlight = rejection(publisher.publish(toQueue(queue, 500, 1000)))
      while (first.heldBytes < 500 * 50) await new Promise((resolve) => setTimeout(resolve, 20))
      first.cut()
      expect((await inFlight).kind).to.equal('connection-lost')
      await publisher.publish(toQueue(queue, 500, 1000))
      expect(second.openConnections).to.equal(1)
      expect(await queued()).to.equal(501)
    } finally {
      await publisher.close()
    }
  })

  it('skips a node that accepts connections but never answers, after the connect timeout', async () => {
    const silent = await node()
    silent.hold()
    const publisher = new RabbitmqPublisher({urls: [silent.url, RABBITMQ_URL], connectTimeoutMs: 500})
    try {
      const started = Date.now()
      await publisher.publish(toQueue(queue, 5))
      expect(Date.now() - started).to.be.within(400, 5000)
      expect(await queued()).to.equal(5)
    } finally {
      await publisher.close()
    }
  })

  it('when no node answers, one DeliveryError names each node, passwords masked', async () => {
    const urls = [await refusedUrl(), await refusedUrl()]
    const publisher = new RabbitmqPublisher({urls})
    const error = await rejection(publisher.publish(toQueue(queue, 1)))
    expect(error).to.be.instanceOf(DeliveryError)
    expect(error.kind).to.equal('unreachable')
    expect(error.message).to.match(/^Could not connect to any of the 2 RabbitMQ nodes \(amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED.*; amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED.*\)$/)
    expect(error.message).not.to.contain('s3cret-node-pw')
    await publisher.close()
  })
})
