// A signal model that announces placed orders on a RabbitMQ topic exchange, 1,000 per transaction.
import 'reflect-metadata'
import {Column, CreateDateColumn, Entity, PrimaryGeneratedColumn} from 'typeorm'
import {RabbitmqPublisher} from 'signalbus'

// One publisher per process: it connects on first use (SIGNALBUS_RABBITMQ_URL), and the signalbus CLI
// closes it when the command ends.
const publisher = new RabbitmqPublisher()
const exchange = process.env.ORDERS_EXCHANGE ?? 'orders'

@Entity({name: 'order_placed_signal'})
export class OrderPlacedSignal {
  @PrimaryGeneratedColumn({type: 'bigint'})
  id!: string

  @Column({type: 'varchar', length: 64})
  orderId!: string

  @Column({type: 'integer'})
  totalCents!: number

  @CreateDateColumn()
  createdAt!: Date

  static signalbusBurstCount = 1000

  static async sendSignalbusMessages(signals: OrderPlacedSignal[]): Promise<void> {
    await publisher.publish(
      signals.map((signal) => ({
        exchange,
        routingKey: 'order.placed',
        messageId: signal.id, // consumers deduplicate on it: delivery is at-least-once
        body: {orderId: signal.orderId, totalCents: signal.totalCents, placedAt: signal.createdAt},
        mandatory: true, // an unroutable message fails the burst instead of vanishing
      })),
    )
  }
}
