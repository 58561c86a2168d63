// A signal model in plain JavaScript: a class with send methods, mapped to a table with an EntitySchema
// (plain JS has no decorators). A real model would publish to RabbitMQ here and return only once the
// broker has confirmed the messages; this one "sends" by printing a line.
import {EntitySchema} from 'typeorm'

export class StockReservedSignal {
  /** How many signals `signalbus flushmany` sends and deletes in one database transaction. */
  static signalbusBurstCount = 500

  /** Used for bursts of more than one signal. `signals` are real StockReservedSignal instances. */
  static async sendSignalbusMessages(signals) {
    const ids = signals.map((signal) => signal.id)
    console.log(`  sent burst of ${signals.length}: #${Math.min(...ids)} … #${Math.max(...ids)}`)
  }

  /** Used for a burst of a single signal. */
  async sendSignalbusMessage() {
    console.log(`  sent signal #${this.id}: reserve ${this.quantity} × ${this.sku} for order ${this.orderId}`)
  }
}

export const StockReservedSignalSchema = new EntitySchema({
  name: 'StockReservedSignal',
  target: StockReservedSignal,
  tableName: 'stock_reserved_signal',
  columns: {
    id: {type: Number, primary: true, generated: 'increment'},
    orderId: {type: Number, name: 'order_id'},
    sku: {type: String},
    quantity: {type: Number},
    insertedAt: {type: 'datetime', name: 'inserted_at', createDate: true},
  },
})

/** An ordinary business table: not a signal model (no send methods), so signalbus ignores it. */
export const OrderSchema = new EntitySchema({
  name: 'Order',
  tableName: 'orders',
  columns: {
    id: {type: Number, primary: true, generated: 'increment'},
    customer: {type: String},
    placedAt: {type: 'datetime', name: 'placed_at', createDate: true},
  },
})
