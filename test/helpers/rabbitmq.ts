// A test's own RabbitMQ queue (unique name, deleted afterwards) and ways to read what reached it.
import {randomBytes} from 'node:crypto'
import {execFile} from 'node:child_process'
import {promisify} from 'node:util'
import amqplib, {type Channel, type ChannelModel} from 'amqplib'

export const RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672'

export class TestQueue {
  private constructor(
    readonly name: string,
    private connection: ChannelModel,
    private channel: Channel,
  ) {}

  static async create(): Promise<TestQueue> {
    const name = `signalbus-test-${randomBytes(4).toString('hex')}`
    const connection = await amqplib.connect(RABBITMQ_URL)
    const channel = await connection.createChannel()
    await channel.assertQueue(name, {durable: true})
    return new TestQueue(name, connection, channel)
  }

  async messageCount(): Promise<number> {
    await this.reconnectIfClosed()
    return (await this.channel.checkQueue(this.name)).messageCount
  }

  /** Takes every message off the queue and returns their message ids. */
  async drainMessageIds(): Promise<string[]> {
    return (await this.drainMessages()).map((message) => message.messageId)
  }

  /** Takes every message off the queue and returns each one's message id and body (parsed when it is JSON). */
  async drainMessages(): Promise<Array<{messageId: string; body: unknown}>> {
    await this.reconnectIfClosed()
    const messages: Array<{messageId: string; body: unknown}> = []
    for (;;) {
      const message = await this.channel.get(this.name, {noAck: true})
      if (message === false) return messages
      const text = message.content.toString('utf8')
      const isJson = message.properties.contentType === 'application/json'
      messages.push({messageId: String(message.properties.messageId), body: isJson ? (JSON.parse(text) as unknown) : text})
    }
  }

  async destroy(): Promise<void> {
    await this.reconnectIfClosed()
    await this.channel.deleteQueue(this.name)
    await this.connection.close()
  }

  /** close_all_connections also closes the test's own connection. */
  private async reconnectIfClosed(): Promise<void> {
    try {
      await this.channel.checkQueue(this.name)
    } catch {
      this.connection = await amqplib.connect(RABBITMQ_URL)
      this.channel = await this.connection.createChannel()
    }
  }
}

const rabbitmqctl = async (...args: string[]): Promise<string> =>
  (await promisify(execFile)('rabbitmqctl', args, {timeout: 30_000})).stdout

export async function closeAllBrokerConnections(): Promise<void> {
  await rabbitmqctl('close_all_connections', 'closed by a signalbus test')
}

/**
 * Raises RabbitMQ's memory alarm, so the broker stops reading from publishing connections and their
 * confirms never come, runs `during`, and always restores the watermark it found.
 */
export async function withPublishingBlocked(during: () => Promise<void>): Promise<void> {
  const watermark = (await rabbitmqctl('eval', 'vm_memory_monitor:get_vm_memory_high_watermark().')).trim()
  await rabbitmqctl('set_vm_memory_high_watermark', '0')
  try {
    await during()
  } finally {
    await rabbitmqctl('set_vm_memory_high_watermark', Number.isFinite(Number(watermark)) ? watermark : '0.4')
  }
}

/** Waits (bounded) until some client connection is blocked by the broker. */
export async function waitForBlockedConnection(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (/\bblocked\b/.test(await rabbitmqctl('list_connections', '-q', 'state'))) return
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error(`no RabbitMQ connection was blocked within ${timeoutMs} ms`)
}
