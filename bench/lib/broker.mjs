// The benchmark queue on RabbitMQ: declare, purge, count, and read back every message id (to check that
// each row was delivered exactly once), then delete. Reconnects when the broker closed its connection.
import amqplib from 'amqplib'
import {QUEUE, RABBITMQ_URL} from './settings.mjs'

export async function openBroker() {
  let connection
  let channel
  const open = async () => {
    connection = await amqplib.connect(RABBITMQ_URL)
    connection.on('error', () => {}) // 'close' follows; the next call reconnects
    connection.on('close', () => (channel = undefined))
    channel = await connection.createChannel()
    channel.on('error', () => {})
    channel.on('close', () => (channel = undefined))
  }
  const ready = async () => {
    if (!channel) await open()
    return channel
  }
  await open()
  return {
    serverVersion: String(connection.connection.serverProperties.version ?? 'unknown'),
    async reset(queue = QUEUE, args = {}) {
      await (await ready()).deleteQueue(queue)
      await (await ready()).assertQueue(queue, {durable: true, arguments: args})
    },
    async count(queue = QUEUE) {
      return (await (await ready()).checkQueue(queue)).messageCount
    },
    /**
     * Consumes the whole queue; for ids 1…expected reports how many never arrived, how many arrived more than
     * once, and how many messages carried an id outside that range.
     */
    async drainAndCheck(expected, queue = QUEUE) {
      const total = await this.count(queue)
      const seen = new Uint8Array(expected + 1)
      let duplicates = 0
      let foreign = 0
      let received = 0
      await ready()
      const consumer = await connection.createChannel()
      await new Promise((resolve, reject) => {
        if (total === 0) return resolve()
        consumer.on('error', reject)
        consumer.on('close', () => reject(new Error('the broker closed the channel while the queue was read back')))
        const onMessage = (message) => {
          if (message === null) return
          const id = Number(message.properties.messageId)
          if (Number.isInteger(id) && id >= 1 && id <= expected) {
            if (seen[id]) duplicates++
            else seen[id] = 1
          } else {
            foreign++
          }
          if (++received === total) resolve()
        }
        consumer.consume(queue, onMessage, {noAck: true}).catch(reject)
      })
      await consumer.close()
      let missing = 0
      for (let id = 1; id <= expected; id++) if (!seen[id]) missing++
      return {received, missing, duplicates, foreign}
    },
    async delete(queue = QUEUE) {
      await (await ready()).deleteQueue(queue)
    },
    close: async () => {
      if (channel) await connection.close()
    },
  }
}
