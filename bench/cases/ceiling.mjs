// Case 1, the ceiling: raw amqplib confirm-channel publishing of N persistent JSON messages, waiting for the
// confirms every BENCH_CONFIRM_WINDOW messages (1,000 by default; the runner also measures 10,000). Nothing
// signalbus does can be faster than the broker taking these messages with the same window.
import amqplib from 'amqplib'
import {PAYLOAD_LENGTH, RABBITMQ_URL, messageBody, QUEUE} from '../lib/settings.mjs'

const count = Number(process.env.BENCH_COUNT ?? 100_000)
const every = Number(process.env.BENCH_CONFIRM_WINDOW ?? 1000)
const filler = 'x'.repeat(PAYLOAD_LENGTH - 8)

const connection = await amqplib.connect(RABBITMQ_URL)
const channel = await connection.createConfirmChannel()
const started = performance.now()
for (let id = 1; id <= count; id++) {
  const payload = filler + String(id).padStart(8, '0')
  channel.publish('', QUEUE, messageBody(id, payload), {
    persistent: true,
    contentType: 'application/json',
    messageId: String(id),
  })
  if (id % every === 0 || id === count) await channel.waitForConfirms()
}
const seconds = (performance.now() - started) / 1000
await connection.close()
process.stdout.write(JSON.stringify({sent: count, seconds}) + '\n')
