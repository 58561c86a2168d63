// The application's DataSource; `signalbus -d examples/rabbitmq/data-source.ts` compiles it with SWC (or TypeScript) on the fly.
import 'reflect-metadata'
import {DataSource} from 'typeorm'
import {OrderPlacedSignal} from './order-placed-signal.js'

export default new DataSource({
  type: 'postgres',
  url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  entities: [OrderPlacedSignal],
})
