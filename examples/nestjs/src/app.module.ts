// The application: configuration, the database, signalbus on the same DataSource, and the orders feature.
import {Module} from '@nestjs/common'
import {ConfigModule, ConfigService} from '@nestjs/config'
import {TypeOrmModule} from '@nestjs/typeorm'
import {SignalbusModule} from 'signalbus/nestjs'
import {databaseOptions} from './config/database'
import {signalbusOptions} from './config/signalbus'
import {OrdersModule} from './orders/orders.module'

@Module({
  imports: [
    ConfigModule.forRoot({isGlobal: true}),
    TypeOrmModule.forRootAsync({inject: [ConfigService], useFactory: databaseOptions}),
    SignalbusModule.forRootAsync({inject: [ConfigService], useFactory: signalbusOptions}),
    OrdersModule,
  ],
})
export class AppModule {}
