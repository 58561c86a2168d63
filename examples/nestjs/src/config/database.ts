// The app's TypeORM settings, read from ConfigService: used by TypeOrmModule.forRootAsync and by the CLI's data source.
import type {ConfigService} from '@nestjs/config'
import type {DataSourceOptions} from 'typeorm'
import {Order} from '../orders/order.entity'
import {OrderPlacedSignal} from '../orders/order-placed.signal'

export function databaseOptions(config: ConfigService): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.getOrThrow<string>('DATABASE_URL'),
    entities: [Order, OrderPlacedSignal],
    entityPrefix: config.get<string>('DATABASE_TABLE_PREFIX', ''),
    synchronize: config.get<string>('DATABASE_SYNCHRONIZE') === 'true',
  }
}
