// Creates the table and the exchange (with a queue to look at), then places orders: each order's signal
// row is inserted in the same transaction as the order itself would be.
import amqplib from 'amqplib'
import dataSource from './data-source.js'
import {OrderPlacedSignal} from './order-placed-signal.js'

const count = Number(process.argv[2] ?? 5000)
const exchange = process.env.ORDERS_EXCHANGE ?? 'orders'
const queue = process.env.ORDERS_QUEUE ?? 'orders-placed'

const connection = await amqplib.connect(process.env.SIGNALBUS_RABBITMQ_URL ?? 'amqp://localhost')
const channel = await connection.createChannel()
await channel.assertExchange(exchange, 'topic', {durable: true})
await channel.assertQueue(queue, {durable: true})
await channel.bindQueue(queue, exchange, 'order.*')
await connection.close()

dataSource.setOptions({synchronize: true})
await dataSource.initialize()
await dataSource.transaction(async (manager) => {
  // ... the order itself would be saved here, with the same manager ...
  const signals = Array.from({length: count}, (_, index) => ({orderId: `order-${index}`, totalCents: 100 + index}))
  for (let start = 0; start < signals.length; start += 1000) {
    await manager.insert(OrderPlacedSignal, signals.slice(start, start + 1000))
  }
})
await dataSource.destroy()
console.log(`placed ${count} orders; their signals are pending in order_placed_signal`)
