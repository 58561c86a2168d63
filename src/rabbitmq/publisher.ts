// A RabbitMQ publisher over one confirm channel that concurrent publish() calls share: each call resolves when the
// broker has confirmed every message it gave, and otherwise rejects with one DeliveryError about its own messages.
// Given several URLs (a cluster's nodes) it connects to the first that answers and fails over when a connection is lost.
import {once} from 'node:events'
import type {Writable} from 'node:stream'
import type {ChannelModel, ConfirmChannel, ConsumeMessage} from 'amqplib'
import {DeliveryError, describeError} from '../errors.js'
import {silentLogger, type Logger} from '../logger.js'
import {maskCredentials} from '../mask-credentials.js'
import {onShutdown} from '../shutdown-hooks.js'
import {
  Delivery,
  Outcome,
  channelFault,
  culprits,
  faultError,
  nackError,
  returnedError,
  tooLargeError,
  unconfirmedError,
} from './delivery.js'
import {encodeMessage, type EncodedMessage, type RabbitmqMessage} from './message.js'
import {brokerUrls, connectToFirstAnswering} from './nodes.js'

export {RABBITMQ_URL_ENV} from './nodes.js'

/**
 * Set on every mandatory message: a returned (unroutable) message carries it back, and it names the publish() call
 * and the message it came from. Consumers see it too, on mandatory messages only.
 */
export const RETURN_TAG_HEADER = 'x-signalbus-return-tag'
/**
 * How many times one call re-publishes its unconfirmed messages on a new channel after a message of another call
 * made the broker close the shared channel (a missing exchange, a message over the size limit).
 */
const REPUBLISH_ATTEMPTS = 3

export interface RabbitmqPublisherOptions {
  /** One broker URL, or several separated by commas. Query parameters such as `?heartbeat=30` are amqplib's. */
  url?: string
  /**
   * The nodes of a RabbitMQ cluster: the publisher connects to the first that answers, and after a lost connection
   * the next publish starts with the node after the one that was lost. Default: `url`, else the
   * SIGNALBUS_RABBITMQ_URL environment variable (comma-separated for several), else amqp://localhost.
   */
  urls?: readonly string[]
  /** How long one publish() may wait for all its confirms (default 30 s). */
  timeoutMs?: number
  /** How long connecting to one node may take, TCP and AMQP handshake (default 10 s). */
  connectTimeoutMs?: number
  logger?: Logger
  /** Close the connection when the CLI finishes a command (default true). */
  closeOnShutdown?: boolean
}

/** A connection to one node and what happened to it. */
interface OpenConnection {
  readonly model: ChannelModel
  readonly node: number
  closed: boolean
  /** Closed by close(), not lost. */
  closing: boolean
  /** Why the connection failed, as the broker or the socket said. */
  error: Error | undefined
  /** The broker's max_message_size once a too-large message revealed it; later messages over it are refused here. */
  maxMessageSize: number | undefined
}

/** The confirm channel every publish() call writes to, and what the broker said when it closed it. */
interface OpenChannel {
  readonly channel: ConfirmChannel
  readonly connection: OpenConnection
  closed: boolean
  /** The broker's reason for closing the channel (a channel error), if it closed it. */
  error: Error | undefined
  /** Set while the socket's buffer is full: every caller waits for it before writing more. */
  drained: Promise<void> | undefined
}

export class RabbitmqPublisher {
  private readonly urls: readonly string[]
  private readonly timeoutMs: number
  private readonly connectTimeoutMs: number
  private readonly logger: Logger
  private readonly closeOnShutdown: boolean
  private connection: OpenConnection | undefined
  private current: OpenChannel | undefined
  private opening: Promise<OpenChannel> | undefined
  /** The node the next connection attempt starts with. */
  private nextNode = 0
  private lastDeliveryId = 0
  /** Deliveries waiting for confirms, by id: a returned message names its delivery in RETURN_TAG_HEADER. */
  private readonly deliveries = new Map<number, Delivery>()
  private readonly inFlight = new Set<Promise<void>>()
  private unregisterShutdown: (() => void) | undefined

  constructor(options: RabbitmqPublisherOptions = {}) {
    this.urls = brokerUrls(options)
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.logger = options.logger ?? silentLogger
    this.closeOnShutdown = options.closeOnShutdown ?? true
  }

  /** The broker URL(s) with passwords hidden. */
  get displayUrl(): string {
    return this.urls.map(maskCredentials).join(', ')
  }

  /**
   * Publishes the batch pipelined and resolves when every message is confirmed. Rejects with a DeliveryError on a
   * nack, a returned mandatory message, a message the broker refused (too large, missing exchange), a lost
   * connection, or the timeout; its `kind` says which and, for the message kinds, `failedMessages` which messages.
   * Calls may overlap: they share one confirm channel, and each confirm, nack and return is counted for the call its
   * message came from. When a message of one call makes the broker close the channel, the other calls publish their
   * unconfirmed messages again on a new channel (they may then be stored twice: at-least-once).
   */
  publish(messages: readonly RabbitmqMessage[]): Promise<void> {
    const result = this.publishBatch(messages)
    const tracked = result.catch(() => undefined)
    this.inFlight.add(tracked)
    void tracked.then(() => this.inFlight.delete(tracked))
    return result
  }

  /** Waits for the publishes in progress, then closes the channel and the connection. A later publish reconnects. */
  async close(): Promise<void> {
    await Promise.all([...this.inFlight])
    await this.opening?.catch(() => undefined)
    this.unregisterShutdown?.()
    this.unregisterShutdown = undefined
    const {current, connection} = this
    this.current = undefined
    this.connection = undefined
    if (connection) connection.closing = true
    await closeQuietly(current?.channel)
    await closeQuietly(connection?.model)
  }

  private async publishBatch(messages: readonly RabbitmqMessage[]): Promise<void> {
    if (messages.length === 0) return
    const id = ++this.lastDeliveryId
    const delivery = new Delivery(id, this.encode(messages, id))
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs)
    })
    this.deliveries.set(delivery.id, delivery)
    try {
      const settled = await Promise.race([this.deliver(delivery), timeout])
      if (settled === 'timeout') {
        throw new DeliveryError(
          `RabbitMQ did not confirm ${messages.length} message(s) within ${this.timeoutMs} ms (${this.displayUrl}).`,
          {kind: 'timeout'},
        )
      }
    } finally {
      // Late confirms of an abandoned delivery change only its own outcomes; the channel stays usable for the others.
      delivery.abandoned = true
      this.deliveries.delete(delivery.id)
      clearTimeout(timer)
    }
  }

  /** Encodes the batch; mandatory messages get the return tag `<delivery id>.<index>`. */
  private encode(messages: readonly RabbitmqMessage[], id: number): EncodedMessage[] {
    const timestamp = Math.floor(Date.now() / 1000)
    const encoded: EncodedMessage[] = new Array(messages.length)
    for (let index = 0; index < messages.length; index++) {
      try {
        encoded[index] = encodeMessage(messages[index]!, timestamp)
      } catch (error) {
        if (!(error instanceof DeliveryError)) throw error
        throw new DeliveryError(error.message, {kind: error.kind, failedMessages: [index], cause: error.cause})
      }
      const {options} = encoded[index]!
      if (options.mandatory) options.headers = {...options.headers, [RETURN_TAG_HEADER]: `${id}.${index}`}
    }
    return encoded
  }

  /** Publishes on the shared channel, again on a new one while another call's message closed it; throws this call's error. */
  private async deliver(delivery: Delivery): Promise<void> {
    let pending = delivery.messages.map((_, index) => index)
    for (let attempt = 1; ; attempt++) {
      const open = await this.channelForPublishing()
      const max = open.connection.maxMessageSize
      if (max !== undefined) {
        const tooLarge = pending.filter((index) => delivery.messages[index]!.content.length > max)
        if (tooLarge.length > 0) throw tooLargeError(delivery, tooLarge, max)
      }
      await this.publishOn(open, delivery, pending)
      if (delivery.abandoned) return
      const unconfirmed = delivery.indexesWith(Outcome.Unconfirmed).filter((index) => !delivery.returned.has(index))
      if (unconfirmed.length > 0) {
        const fault = open.connection.closed ? undefined : channelFault(open.error)
        const reason = this.closeReason(open)
        if (!fault) {
          const kind = open.connection.closed ? 'connection-lost' : 'channel-closed'
          throw unconfirmedError(delivery, unconfirmed, kind, reason, open.error ?? open.connection.error)
        }
        if (fault.maxMessageSize !== undefined) open.connection.maxMessageSize = fault.maxMessageSize
        const own = culprits(delivery, fault, unconfirmed)
        if (own.length > 0) throw faultError(delivery, fault, own, reason, open.error)
        // Another call's message closed the channel: this call's messages were innocent.
        const nacked = delivery.indexesWith(Outcome.Nacked)
        if (nacked.length === 0 && delivery.returned.size === 0 && attempt < REPUBLISH_ATTEMPTS) {
          this.logger.debug(`Publishing ${unconfirmed.length} unconfirmed message(s) again after: ${reason}`)
          pending = unconfirmed
          continue
        }
        if (nacked.length === 0 && delivery.returned.size === 0) throw unconfirmedError(delivery, unconfirmed, 'channel-closed', reason, open.error)
      }
      const nacked = delivery.indexesWith(Outcome.Nacked)
      if (nacked.length > 0) throw nackError(delivery, nacked)
      if (delivery.returned.size > 0) throw returnedError(delivery)
      return
    }
  }

  /**
   * Writes the messages at `indexes` and resolves when each has its confirm (or nack, or the channel closed). While
   * the socket's buffer is full every caller waits for it to drain, so concurrent callers cannot pile frames up.
   */
  private async publishOn(open: OpenChannel, delivery: Delivery, indexes: readonly number[]): Promise<void> {
    const generation = ++delivery.attempts
    let outstanding = indexes.length
    let allSettled!: () => void
    const settled = new Promise<void>((resolve) => (allSettled = resolve))
    const record = (index: number, outcome: Outcome): void => {
      if (delivery.attempts === generation) delivery.outcomes[index] = outcome
      if (--outstanding === 0) allSettled()
    }
    const confirmOf = (index: number) => (error: unknown) =>
      record(index, !error ? Outcome.Confirmed : isNack(error) ? Outcome.Nacked : Outcome.Unconfirmed)
    for (const index of indexes) delivery.outcomes[index] = Outcome.Pending
    corkUntilWritten(open.connection.model)
    for (let position = 0; position < indexes.length; position++) {
      if (open.drained) {
        await open.drained
        corkUntilWritten(open.connection.model)
      }
      if (open.closed || delivery.abandoned) {
        for (let rest = position; rest < indexes.length; rest++) record(indexes[rest]!, Outcome.Unconfirmed)
        break
      }
      const index = indexes[position]!
      const message = delivery.messages[index]!
      const confirm = confirmOf(index)
      let writable = true
      try {
        writable = open.channel.publish(message.exchange, message.routingKey, message.content, message.options, confirm)
      } catch (error) {
        confirm(error) // Not written, so no confirm will come for it.
      }
      if (!writable) open.drained ??= drainOrClose(open.channel).finally(() => (open.drained = undefined))
    }
    await settled
  }

  private closeReason(open: OpenChannel): string {
    if (open.connection.closed) {
      const why = open.connection.error ? this.describe(open.connection.error) : 'closed'
      return `the connection to ${maskCredentials(this.urls[open.connection.node]!)} was lost (${why})`
    }
    return open.error ? this.describe(open.error) : 'the channel was closed'
  }

  private channelForPublishing(): Promise<OpenChannel> {
    if (this.current && !this.current.closed) return Promise.resolve(this.current)
    this.opening ??= this.openChannel().finally(() => (this.opening = undefined))
    return this.opening
  }

  private async openChannel(): Promise<OpenChannel> {
    const connection = this.connection && !this.connection.closed ? this.connection : await this.connect()
    let channel: ConfirmChannel
    try {
      channel = await connection.model.createConfirmChannel()
    } catch (error) {
      const url = maskCredentials(this.urls[connection.node]!)
      throw new DeliveryError(`Could not open a RabbitMQ channel on ${url}: ${this.describe(error)}`, {cause: error, kind: 'unreachable'})
    }
    const open: OpenChannel = {channel, connection, closed: false, error: undefined, drained: undefined}
    channel.on('error', (error: Error) => {
      open.error = error
      this.logger.debug(`RabbitMQ channel error: ${this.describe(error)}`)
    })
    channel.on('close', () => {
      open.closed = true
      if (this.current === open) this.current = undefined
    })
    channel.on('return', (message: ConsumeMessage) => this.onReturn(message))
    this.current = open
    return open
  }

  private async connect(): Promise<OpenConnection> {
    const {model, node} = await connectToFirstAnswering(this.urls, this.nextNode, this.connectTimeoutMs, (line) =>
      this.logger.debug(`RabbitMQ node not reachable: ${line}`),
    )
    const connection: OpenConnection = {model, node, closed: false, closing: false, error: undefined, maxMessageSize: undefined}
    this.nextNode = node
    model.on('error', (error: Error) => {
      connection.error = error
      this.logger.debug(`RabbitMQ connection error: ${this.describe(error)}`)
    })
    model.on('close', (error?: Error) => this.onConnectionClosed(connection, error))
    model.on('blocked', (reason: string) => this.logger.warn(`RabbitMQ blocked publishing: ${reason}`))
    this.connection = connection
    if (this.closeOnShutdown && !this.unregisterShutdown) this.unregisterShutdown = onShutdown(() => this.close())
    return connection
  }

  /** A lost connection sends the next publish to the next node (round-robin), so a dead node is not tried first. */
  private onConnectionClosed(connection: OpenConnection, error: Error | undefined): void {
    connection.closed = true
    if (error) connection.error ??= error
    if (this.connection === connection) {
      this.connection = undefined
      this.current = undefined
    }
    if (connection.closing) return
    this.nextNode = (connection.node + 1) % this.urls.length
    const lost = maskCredentials(this.urls[connection.node]!)
    const next = this.urls.length > 1 ? `; the next publish tries ${maskCredentials(this.urls[this.nextNode]!)} first` : ''
    this.logger.warn(`The RabbitMQ connection to ${lost} was closed${error ? `: ${this.describe(error)}` : ''}${next}.`)
  }

  private onReturn(message: ConsumeMessage): void {
    const tag = message.properties.headers?.[RETURN_TAG_HEADER]
    const [deliveryId, index] = typeof tag === 'string' ? tag.split('.').map(Number) : []
    const delivery = deliveryId === undefined ? undefined : this.deliveries.get(deliveryId)
    if (!delivery || index === undefined || !(index >= 0 && index < delivery.messages.length)) {
      this.logger.debug(`RabbitMQ returned a message no publish is waiting for (exchange "${message.fields.exchange}")`)
      return
    }
    const {replyText} = message.fields as {replyText?: string}
    delivery.returned.set(index, replyText ?? 'NO_ROUTE')
  }

  private describe(error: unknown): string {
    return maskCredentials(describeError(error))
  }
}

const isNack = (error: unknown): boolean => (error as {message?: unknown}).message === 'message nacked'

/**
 * amqplib hands each frame to the socket on its own: one system call per message, about a fifth of a flusher's
 * CPU time, taken from the cores the broker needs. Corking the socket while a batch is published, and uncorking
 * it after amqplib's writer has run (it moves frames to the socket in a setImmediate), sends the batch in a few
 * writev calls. Node counts corks, so overlapping calls each cork and uncork once. This reaches into amqplib's
 * connection for its socket: when that is not there, publishing simply goes on uncorked.
 */
function corkUntilWritten(connection: ChannelModel): void {
  const socket = socketOf(connection)
  if (!socket) return
  socket.cork()
  setImmediate(() => setImmediate(() => socket.uncork()))
}

function socketOf(connection: ChannelModel): Pick<Writable, 'cork' | 'uncork'> | undefined {
  const stream = (connection as {connection?: {stream?: Partial<Writable>}}).connection?.stream
  return typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? (stream as Writable) : undefined
}

/** Resolves when the channel can take more data, or when it closes (then the confirms fail on their own). */
async function drainOrClose(channel: ConfirmChannel): Promise<void> {
  const controller = new AbortController()
  try {
    await Promise.race([once(channel, 'drain', {signal: controller.signal}), once(channel, 'close', {signal: controller.signal})])
  } finally {
    controller.abort()
  }
}

async function closeQuietly(closable: {close(): Promise<void>} | undefined): Promise<void> {
  try {
    await closable?.close()
  } catch {
    // Already closed by the broker or by a lost connection.
  }
}
