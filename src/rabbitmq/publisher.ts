// A RabbitMQ publisher over a confirm channel: publish(messages) resolves only when the broker has
// confirmed every message of the batch, and rejects with one DeliveryError otherwise.
import {once} from 'node:events'
import type {Writable} from 'node:stream'
import type {ChannelModel, ConfirmChannel, ConsumeMessage} from 'amqplib'
import {DeliveryError, describeError, type DeliveryFailureKind} from '../errors.js'
import {silentLogger, type Logger} from '../logger.js'
import {maskCredentials} from '../mask-credentials.js'
import {onShutdown} from '../shutdown-hooks.js'
import {encodeMessage, type EncodedMessage, type RabbitmqMessage} from './message.js'

export const RABBITMQ_URL_ENV = 'SIGNALBUS_RABBITMQ_URL'
const DEFAULT_URL = 'amqp://localhost'
/** Room in the socket's write buffer for a whole batch of frames while it is corked (see corkUntilWritten). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024

export interface RabbitmqPublisherOptions {
  /** Default: the SIGNALBUS_RABBITMQ_URL environment variable, else amqp://localhost. Query parameters such as `?heartbeat=30` are amqplib's. */
  url?: string
  /** How long one publish() may wait for all its confirms (default 30 s). */
  timeoutMs?: number
  /** How long connecting may take (default 10 s). */
  connectTimeoutMs?: number
  logger?: Logger
  /** Close the connection when the CLI finishes a command (default true). */
  closeOnShutdown?: boolean
}

/** The broker-side outcome of one batch, gathered while its confirms arrive. */
interface BatchOutcome {
  returned: ConsumeMessage[]
  channelError: Error | undefined
}

/** The confirms of one batch, counted as they arrive (one callback for all, not a promise per message). */
interface ConfirmTally {
  failed: number
  firstFailure: unknown
  /** Every failure was a nack (as opposed to a closed channel or connection). */
  allNacked: boolean
}

export class RabbitmqPublisher {
  private readonly url: string
  private readonly timeoutMs: number
  private readonly connectTimeoutMs: number
  private readonly logger: Logger
  private readonly closeOnShutdown: boolean
  private connection: ChannelModel | undefined
  private channel: ConfirmChannel | undefined
  private outcome: BatchOutcome = {returned: [], channelError: undefined}
  private lastConnectionError: Error | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private unregisterShutdown: (() => void) | undefined

  constructor(options: RabbitmqPublisherOptions = {}) {
    this.url = options.url ?? process.env[RABBITMQ_URL_ENV] ?? DEFAULT_URL
    this.timeoutMs = options.timeoutMs ?? 30_000
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.logger = options.logger ?? silentLogger
    this.closeOnShutdown = options.closeOnShutdown ?? true
  }

  /** The broker URL with its password hidden. */
  get displayUrl(): string {
    return maskCredentials(this.url)
  }

  /**
   * Publishes the whole batch pipelined and resolves when every message is confirmed. Rejects with a
   * DeliveryError on a nack, a returned mandatory message, a closed channel or connection, or the timeout.
   * Calls are served one at a time, so that a returned message belongs to its own batch.
   */
  publish(messages: readonly RabbitmqMessage[]): Promise<void> {
    const result = this.queue.then(() => this.publishBatch(messages))
    this.queue = result.catch(() => undefined)
    return result
  }

  /** Waits for the publish in progress, then closes the channel and the connection. A later publish reconnects. */
  async close(): Promise<void> {
    await this.queue
    this.unregisterShutdown?.()
    this.unregisterShutdown = undefined
    const {channel, connection} = this
    this.channel = undefined
    this.connection = undefined
    await closeQuietly(channel)
    await closeQuietly(connection)
  }

  private async publishBatch(messages: readonly RabbitmqMessage[]): Promise<void> {
    if (messages.length === 0) return
    const timestamp = Math.floor(Date.now() / 1000)
    const encoded = messages.map((message) => encodeMessage(message, timestamp))
    const channel = await this.openChannel()
    this.outcome = {returned: [], channelError: undefined}
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.timeoutMs)
    })
    try {
      const settled = await Promise.race([this.publishAndConfirm(channel, encoded), timeout])
      if (settled === 'timeout') {
        this.discardChannel(channel)
        throw new DeliveryError(
          `RabbitMQ did not confirm ${encoded.length} message(s) within ${this.timeoutMs} ms (${this.displayUrl}).`,
          {kind: 'timeout'},
        )
      }
      this.throwIfNotDelivered(encoded, settled)
    } finally {
      clearTimeout(timer)
    }
  }

  private async publishAndConfirm(channel: ConfirmChannel, encoded: EncodedMessage[]): Promise<ConfirmTally> {
    const tally: ConfirmTally = {failed: 0, firstFailure: undefined, allNacked: true}
    let outstanding = encoded.length
    let allConfirmed!: () => void
    const confirmed = new Promise<void>((resolve) => (allConfirmed = resolve))
    const onConfirm = (error: unknown): void => {
      if (error) {
        if (tally.failed++ === 0) tally.firstFailure = error
        if (describeError(error) !== 'message nacked') tally.allNacked = false
      }
      if (--outstanding === 0) allConfirmed()
    }
    corkUntilWritten(this.connection)
    for (const message of encoded) {
      let writable = true
      try {
        writable = channel.publish(message.exchange, message.routingKey, message.content, message.options, onConfirm)
      } catch (error) {
        onConfirm(error) // Not published, so no confirm will come for it.
      }
      if (!writable) {
        await drainOrClose(channel)
        corkUntilWritten(this.connection)
      }
    }
    await confirmed
    return tally
  }

  private throwIfNotDelivered(encoded: EncodedMessage[], tally: ConfirmTally): void {
    const {returned, channelError} = this.outcome
    if (tally.failed > 0) {
      const reason = channelError ?? this.lastConnectionError ?? tally.firstFailure
      const nacked = !channelError && tally.allNacked
      const exchanges = [...new Set(encoded.map((message) => message.exchange || '(default)'))].join(', ')
      throw new DeliveryError(
        nacked
          ? `RabbitMQ refused (nacked) ${tally.failed} of ${encoded.length} message(s) to exchange ${exchanges}.`
          : `${tally.failed} of ${encoded.length} message(s) to exchange ${exchanges} were not confirmed: ${this.describe(reason)}`,
        {kind: nacked ? 'nacked' : channelError ? channelClosureKind(channelError) : 'connection-lost', cause: reason},
      )
    }
    if (returned.length > 0) {
      const first = returned[0]!.fields
      throw new DeliveryError(
        `${returned.length} of ${encoded.length} mandatory message(s) could not be routed ` +
          `(exchange "${first.exchange}", routing key "${first.routingKey}"): ${(returned[0] as {fields: {replyText?: string}}).fields.replyText ?? 'NO_ROUTE'}.`,
        {kind: 'unroutable'},
      )
    }
  }

  private async openChannel(): Promise<ConfirmChannel> {
    if (this.channel) return this.channel
    const connection = this.connection ?? (await this.connect())
    let channel: ConfirmChannel
    try {
      channel = await connection.createConfirmChannel()
    } catch (error) {
      throw new DeliveryError(`Could not open a RabbitMQ channel on ${this.displayUrl}: ${this.describe(error)}`, {
        kind: 'connect',
        cause: error,
      })
    }
    channel.on('error', (error: Error) => {
      this.outcome.channelError = error
      this.logger.debug(`RabbitMQ channel error: ${this.describe(error)}`)
    })
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined
    })
    channel.on('return', (message: ConsumeMessage) => this.outcome.returned.push(message))
    this.channel = channel
    return channel
  }

  private async connect(): Promise<ChannelModel> {
    const amqplib = await import('amqplib')
    let connection: ChannelModel
    try {
      const socketOptions = {timeout: this.connectTimeoutMs, writableHighWaterMark: SOCKET_BUFFER_BYTES}
      connection = await amqplib.connect(this.url, socketOptions)
    } catch (error) {
      throw new DeliveryError(`Could not connect to RabbitMQ at ${this.displayUrl}: ${this.describe(error)}`, {
        kind: 'connect',
        cause: error,
      })
    }
    this.lastConnectionError = undefined
    connection.on('error', (error: Error) => {
      this.lastConnectionError = error
      this.logger.debug(`RabbitMQ connection error: ${this.describe(error)}`)
    })
    connection.on('close', (error?: Error) => {
      if (error) this.lastConnectionError = error
      if (this.connection !== connection) return
      this.connection = undefined
      this.channel = undefined
      this.logger.warn(`The RabbitMQ connection to ${this.displayUrl} was closed${error ? `: ${this.describe(error)}` : ''}.`)
    })
    connection.on('blocked', (reason: string) => this.logger.warn(`RabbitMQ blocked publishing: ${reason}`))
    this.connection = connection
    if (this.closeOnShutdown && !this.unregisterShutdown) this.unregisterShutdown = onShutdown(() => this.close())
    return connection
  }

  /** After a timeout the channel's state is unknown: late confirms must not be taken for this or a later batch. */
  private discardChannel(channel: ConfirmChannel): void {
    if (this.channel === channel) this.channel = undefined
    void closeQuietly(channel)
  }

  private describe(error: unknown): string {
    return maskCredentials(describeError(error))
  }
}

/** AMQP reply code 406 PRECONDITION_FAILED: the broker refused a message of the batch (for example over max_message_size). */
const PRECONDITION_FAILED = 406

/** A channel the broker closed over one message, or over something every message would meet (missing exchange, access). */
function channelClosureKind(error: Error): DeliveryFailureKind {
  return (error as {code?: unknown}).code === PRECONDITION_FAILED ? 'message-refused' : 'channel-closed'
}

/**
 * amqplib hands each frame to the socket on its own: one system call per message, about a fifth of a flusher's
 * CPU time, taken from the cores the broker needs. Corking the socket while a batch is published, and uncorking
 * it after amqplib's writer has run (it moves frames to the socket in a setImmediate), sends the batch in a few
 * writev calls. This reaches into amqplib's connection for its socket: when that is not there, publishing simply
 * goes on uncorked; if the writer ran later than expected, the frames just go out uncorked.
 */
function corkUntilWritten(connection: ChannelModel | undefined): void {
  const socket = socketOf(connection)
  if (!socket) return
  socket.cork()
  setImmediate(() => setImmediate(() => socket.uncork()))
}

function socketOf(connection: ChannelModel | undefined): Pick<Writable, 'cork' | 'uncork'> | undefined {
  const stream = (connection as {connection?: {stream?: Partial<Writable>}} | undefined)?.connection?.stream
  return typeof stream?.cork === 'function' && typeof stream.uncork === 'function' ? (stream as Writable) : undefined
}

/** Resolves when the channel can take more data, or when it closes (then the confirms fail on their own). */
async function drainOrClose(channel: ConfirmChannel): Promise<void> {
  const controller = new AbortController()
  try {
    await Promise.race([
      once(channel, 'drain', {signal: controller.signal}),
      once(channel, 'close', {signal: controller.signal}),
    ])
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
