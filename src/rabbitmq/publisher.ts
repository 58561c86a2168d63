// A RabbitMQ publisher over a confirm channel: publish(messages) resolves only when the broker has
// confirmed every message of the batch, and rejects with one DeliveryError otherwise.
import {once} from 'node:events'
import type {ChannelModel, ConfirmChannel, ConsumeMessage} from 'amqplib'
import {DeliveryError, describeError} from '../errors.js'
import {silentLogger, type Logger} from '../logger.js'
import {maskCredentials} from '../mask-credentials.js'
import {onShutdown} from '../shutdown-hooks.js'
import {encodeMessage, type EncodedMessage, type RabbitmqMessage} from './message.js'

export const RABBITMQ_URL_ENV = 'SIGNALBUS_RABBITMQ_URL'
const DEFAULT_URL = 'amqp://localhost'

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
    const encoded = messages.map(encodeMessage)
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
        )
      }
      this.throwIfNotDelivered(encoded, settled)
    } finally {
      clearTimeout(timer)
    }
  }

  private async publishAndConfirm(channel: ConfirmChannel, encoded: EncodedMessage[]): Promise<PromiseSettledResult<void>[]> {
    const confirms: Promise<void>[] = []
    for (const message of encoded) {
      let writable = true
      confirms.push(
        new Promise<void>((resolve, reject) => {
          try {
            writable = channel.publish(message.exchange, message.routingKey, message.content, message.options, (error) =>
              error ? reject(error) : resolve(),
            )
          } catch (error) {
            reject(error)
          }
        }),
      )
      if (!writable) await drainOrClose(channel)
    }
    return Promise.allSettled(confirms)
  }

  private throwIfNotDelivered(encoded: EncodedMessage[], results: PromiseSettledResult<void>[]): void {
    const failures = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected')
    const {returned, channelError} = this.outcome
    if (failures.length > 0) {
      const reason = channelError ?? this.lastConnectionError ?? failures[0]!.reason
      const nacked = !channelError && failures.every((failure) => describeError(failure.reason) === 'message nacked')
      const exchanges = [...new Set(encoded.map((message) => message.exchange || '(default)'))].join(', ')
      throw new DeliveryError(
        nacked
          ? `RabbitMQ refused (nacked) ${failures.length} of ${encoded.length} message(s) to exchange ${exchanges}.`
          : `${failures.length} of ${encoded.length} message(s) to exchange ${exchanges} were not confirmed: ${this.describe(reason)}`,
        {cause: reason},
      )
    }
    if (returned.length > 0) {
      const first = returned[0]!.fields
      throw new DeliveryError(
        `${returned.length} of ${encoded.length} mandatory message(s) could not be routed ` +
          `(exchange "${first.exchange}", routing key "${first.routingKey}"): ${(returned[0] as {fields: {replyText?: string}}).fields.replyText ?? 'NO_ROUTE'}.`,
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
      throw new DeliveryError(`Could not open a RabbitMQ channel on ${this.displayUrl}: ${this.describe(error)}`, {cause: error})
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
      connection = await amqplib.connect(this.url, {timeout: this.connectTimeoutMs})
    } catch (error) {
      throw new DeliveryError(`Could not connect to RabbitMQ at ${this.displayUrl}: ${this.describe(error)}`, {cause: error})
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
