// The broker nodes a publisher may use (a RabbitMQ cluster's nodes, for failover), read from options or the
// environment, and connecting to the first of them that answers.
import type {ChannelModel} from 'amqplib'
import {DeliveryError, describeError} from '../errors.js'
import {maskCredentials} from '../mask-credentials.js'

export const RABBITMQ_URL_ENV = 'SIGNALBUS_RABBITMQ_URL'
const DEFAULT_URL = 'amqp://localhost'
/** Room in the socket's write buffer for a whole batch of frames while it is corked (see corkUntilWritten). */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024

/**
 * `urls`, else `url`, else $SIGNALBUS_RABBITMQ_URL, else amqp://localhost. A string may hold several URLs separated
 * by commas (a comma inside a password must be percent-encoded, as any reserved character in a URL).
 */
export function brokerUrls(options: {url?: string; urls?: readonly string[]}): string[] {
  const given = options.urls ?? splitUrls(options.url) ?? splitUrls(process.env[RABBITMQ_URL_ENV]) ?? [DEFAULT_URL]
  const urls = given.map((url) => url.trim()).filter((url) => url !== '')
  if (urls.length === 0) throw new DeliveryError('No RabbitMQ URL was given (an empty list).', {kind: 'unreachable'})
  return urls
}

function splitUrls(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined
  return text.split(',')
}

export interface ConnectedNode {
  readonly model: ChannelModel
  /** Index of the node in the publisher's URL list. */
  readonly node: number
}

/**
 * Connects to the nodes in turn, starting with `first`, each within `timeoutMs` (amqplib's socket timeout covers
 * the TCP connect and the AMQP handshake, so a node that accepts but never answers is left too). Rejects with one
 * DeliveryError (kind `unreachable`) that says, password masked, why each node failed.
 */
export async function connectToFirstAnswering(urls: readonly string[], first: number, timeoutMs: number, onFailure: (line: string) => void): Promise<ConnectedNode> {
  const amqplib = await import('amqplib')
  const failures: string[] = []
  let lastError: unknown
  for (let attempt = 0; attempt < urls.length; attempt++) {
    const node = (first + attempt) % urls.length
    const url = urls[node]!
    try {
      const socketOptions = {timeout: timeoutMs, writableHighWaterMark: SOCKET_BUFFER_BYTES}
      const model = await amqplib.connect(url, socketOptions)
      return {model, node}
    } catch (error) {
      lastError = error
      const line = `${maskCredentials(url)}: ${maskCredentials(describeError(error))}`
      failures.push(line)
      onFailure(line)
    }
  }
  const message =
    urls.length === 1
      ? `Could not connect to RabbitMQ at ${failures[0]}`
      : `Could not connect to any of the ${urls.length} RabbitMQ nodes (${failures.join('; ')})`
  throw new DeliveryError(message, {cause: lastError, kind: 'unreachable'})
}
