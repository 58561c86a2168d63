import {expect} from 'chai'
import amqplib, {type Channel, type ChannelModel} from 'amqplib'
import {DeliveryError, RabbitmqPublisher, type RabbitmqMessage} from '../../src/index.js'
import {BrokerProxy, withMaxMessageSize} from '../helpers/faults.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'

const toQueue = (queue: string, count: number, from = 0): RabbitmqMessage[] =>
  Array.from({length: count}, (_, index) => ({exchange: '', routingKey: queue, messageId: from + index, body: {n: from + index}}))

type Settled = {ok: true} | {ok: false; error: DeliveryError}

const settle = (promise: Promise<void>): Promise<Settled> =>
  promise.then(
    () => ({ok: true}) as const,
    (error: DeliveryError) => ({ok: false, error}) as const,
  )

/** The message ids that reached the queue, as numbers, sorted. */
const idsIn = async (queue: TestQueue): Promise<number[]> => (await queue.drainMessageIds()).map(Number).sort((a, b) => a - b)
const range = (from: number, count: number): number[] => Array.from({length: count}, (_, index) => from + index)

describe('RabbitmqPublisher: concurrent publishes on one confirm channel', () => {
  let queue: TestQueue
  let publisher: RabbitmqPublisher
  let admin: ChannelModel
  let adminChannel: Channel
  let debugLines: string[]

  beforeEach(async () => {
    queue = await TestQueue.create()
    debugLines = []
    const ignore = (): void => {}
    publisher = new RabbitmqPublisher({url: RABBITMQ_URL, logger: {debug: (line) => debugLines.push(line), info: ignore, warn: ignore, error: ignore}})
    admin = await amqplib.connect(RABBITMQ_URL)
    adminChannel = await admin.createChannel()
  })

  afterEach(async () => {
    await publisher.close()
    await queue.destroy()
    await admin.close()
  })

  it('serves overlapping calls on one channel: each resolves when its own messages are confirmed', async () => {
    const calls = range(0, 8).map((call) => publisher.publish(toQueue(queue.name, 500, call * 1000)))
    await Promise.all(calls)
    const ids = await idsIn(queue)
    expect(ids).to.deep.equal(range(0, 8).flatMap((call) => range(call * 1000, 500)))
    const channels = (publisher as unknown as {current?: {channel: {ch: number}}}).current
    expect(channels?.channel.ch, 'one channel, the first').to.equal(1)
  })

  it('an unroutable mandatory message rejects only the call it belongs to, naming that message', async () => {
    const unroutable = toQueue(queue.name, 300, 1000)
    unroutable[150] = {exchange: '', routingKey: `${queue.name}-nowhere`, body: 'x', mandatory: true, messageId: 'lost'}
    // Mandatory messages that do route, in the other calls, must not be mistaken for the returned one.
    const mandatoryOk = toQueue(queue.name, 300, 2000).map((message) => ({...message, mandatory: true}))
    const [first, second, third] = await Promise.all([
      settle(publisher.publish(toQueue(queue.name, 300, 0))),
      settle(publisher.publish(unroutable)),
      settle(publisher.publish(mandatoryOk)),
    ])
    expect(first.ok, 'the call before').to.equal(true)
    expect(third.ok, 'the call after').to.equal(true)
    expect(second.ok).to.equal(false)
    if (second.ok) return
    expect(second.error).to.be.instanceOf(DeliveryError)
    expect(second.error.kind).to.equal('unroutable')
    expect(second.error.failedMessages).to.deep.equal([150])
    expect(second.error.message).to.contain(`routing key "${queue.name}-nowhere"`).and.to.contain('NO_ROUTE')
    expect(await idsIn(queue)).to.deep.equal([...range(0, 300), ...range(1000, 150), ...range(1151, 149), ...range(2000, 300)])
  })

  it('a nack (a full queue that rejects publishes) rejects only the call whose messages went there', async () => {
    const full = `${queue.name}-full`
    await adminChannel.assertQueue(full, {arguments: {'x-max-length': 1, 'x-overflow': 'reject-publish'}})
    try {
      const [before, toFull, after] = await Promise.all([
        settle(publisher.publish(toQueue(queue.name, 400, 0))),
        settle(publisher.publish([...toQueue(queue.name, 100, 1000), ...toQueue(full, 3, 5000)])),
        settle(publisher.publish(toQueue(queue.name, 400, 2000))),
      ])
      expect(before.ok).to.equal(true)
      expect(after.ok).to.equal(true)
      expect(toFull.ok).to.equal(false)
      if (toFull.ok) return
      expect(toFull.error.kind).to.equal('nacked')
      expect(toFull.error.message).to.match(/nacked\) 2 of 103/)
      expect(toFull.error.failedMessages).to.deep.equal([101, 102])
      expect(await idsIn(queue)).to.deep.equal([...range(0, 400), ...range(1000, 100), ...range(2000, 400)])
    } finally {
      await adminChannel.deleteQueue(full)
    }
  })

  it('a message to a missing exchange rejects only its call; the others are published again on a new channel', async () => {
    const [before, broken, after] = await Promise.all([
      settle(publisher.publish(toQueue(queue.name, 2000, 0))),
      settle(publisher.publish([{exchange: 'signalbus-no-such-exchange', routingKey: 'k', body: 'x'}])),
      settle(publisher.publish(toQueue(queue.name, 2000, 10_000))),
    ])
    expect(broken.ok).to.equal(false)
    if (broken.ok) return
    expect(broken.error.kind).to.equal('channel-closed')
    expect(broken.error.failedMessages).to.deep.equal([0])
    expect(broken.error.message).to.contain("no exchange 'signalbus-no-such-exchange'")
    expect(before.ok, 'the call before').to.equal(true)
    expect(after.ok, 'the call after').to.equal(true)
    expect(debugLines.filter((line) => /^Publishing \d+ unconfirmed message\(s\) again after: .*no exchange/.test(line)), 'republished').not.to.be.empty
    // At least once: every message is there; the ones in flight when the channel closed may be there twice.
    expect(new Set(await idsIn(queue))).to.deep.equal(new Set([...range(0, 2000), ...range(10_000, 2000)]))
  })

  it('a message over the broker max_message_size rejects only its call, and later ones over it before they are sent', async function () {
    this.timeout(60_000)
    const limit = 64 * 1024
    // RabbitMQ reads the limit when a channel opens: lower it just while the publisher opens its channel.
    await withMaxMessageSize(limit, () => publisher.publish(toQueue(queue.name, 1, 99_999)))
    const big: RabbitmqMessage = {exchange: '', routingKey: queue.name, messageId: 'big', body: Buffer.alloc(limit + 1)}
    const [before, tooLarge, after] = await Promise.all([
      settle(publisher.publish(toQueue(queue.name, 1000, 0))),
      settle(publisher.publish([...toQueue(queue.name, 5, 5000), big])),
      settle(publisher.publish(toQueue(queue.name, 1000, 10_000))),
    ])
    expect(tooLarge.ok).to.equal(false)
    if (tooLarge.ok) return
    expect(tooLarge.error.kind).to.equal('too-large')
    expect(tooLarge.error.failedMessages).to.deep.equal([5])
    expect(tooLarge.error.message).to.match(new RegExp(`message size ${limit + 1} is larger than configured max size ${limit}`))
    expect(before.ok, 'the call before').to.equal(true)
    expect(after.ok, 'the call after').to.equal(true)
    expect(debugLines.filter((line) => /^Publishing \d+ unconfirmed message\(s\) again after: .*larger than/.test(line)), 'republished').not.to.be.empty
    const again = await settle(publisher.publish([big]))
    expect(again.ok).to.equal(false)
    if (!again.ok) expect(again.error.kind).to.equal('too-large')
    const ids = new Set(await idsIn(queue))
    for (const id of [...range(0, 1000), ...range(10_000, 1000), 99_999]) expect(ids.has(id), `message ${id}`).to.equal(true)
  })

  it('back-pressure: overlapping calls that overflow the socket buffer all complete, in order within each call', async () => {
    const body = 'y'.repeat(16 * 1024)
    const batch = (call: number): RabbitmqMessage[] =>
      range(call * 1000, 400).map((id) => ({exchange: '', routingKey: queue.name, messageId: id, body}))
    // 4 × 400 × 16 KiB = 25 MiB, six times the 4 MiB socket buffer.
    await Promise.all(range(0, 4).map((call) => publisher.publish(batch(call))))
    const ids = (await queue.drainMessageIds()).map(Number)
    expect(ids).to.have.length(1600)
    for (let call = 0; call < 4; call++) {
      expect(ids.filter((id) => Math.floor(id / 1000) === call), `call ${call}`).to.deep.equal(range(call * 1000, 400))
    }
  })

  describe('when the connection is cut', () => {
    let proxy: BrokerProxy

    beforeEach(async () => {
      proxy = await BrokerProxy.start()
    })

    afterEach(async () => {
      await proxy.close()
    })

    it('rejects every call in flight (none hangs), and the next publish reconnects', async () => {
      const cut = new RabbitmqPublisher({url: proxy.url, timeoutMs: 60_000})
      try {
        await cut.publish(toQueue(queue.name, 1, 0))
        proxy.hold()
        const calls = range(1, 4).map((call) => settle(cut.publish(toQueue(queue.name, 500, call * 1000))))
        while (proxy.heldBytes < 4 * 500 * 50) await new Promise((resolve) => setTimeout(resolve, 20))
        const started = Date.now()
        proxy.cut()
        const outcomes = await Promise.all(calls)
        expect(Date.now() - started, 'ms until every call rejected').to.be.below(5000)
        for (const outcome of outcomes) {
          expect(outcome.ok).to.equal(false)
          if (outcome.ok) continue
          expect(outcome.error.kind).to.equal('connection-lost')
          expect(outcome.error.message).to.match(/500 of 500 message\(s\) to exchange \(default\) were not confirmed: the connection to amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+ was lost/)
        }
        await cut.publish(toQueue(queue.name, 10, 9000))
        expect(await idsIn(queue)).to.deep.equal([0, ...range(9000, 10)])
      } finally {
        await cut.close()
      }
    })
  })
})
