// Starts the HTTP app. enableShutdownHooks: on SIGTERM the flush loop finishes its burst before TypeORM closes.
import 'reflect-metadata'
import {Logger} from '@nestjs/common'
import {NestFactory} from '@nestjs/core'
import {AppModule} from './app.module'

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule)
  app.enableShutdownHooks()
  await app.listen(process.env.PORT ?? 3000)
  new Logger('Main').log(`Listening on ${await app.getUrl()}`)
}

void bootstrap()
