// What a signal publishes, and how it is encoded for amqplib with the defaults a user wants.
import type {Options} from 'amqplib'
import {DeliveryError} from '../errors.js'

export interface RabbitmqMessage {
  exchange: string
  routingKey: string
  /** A Buffer is sent as it is, a string as UTF-8 text, anything else as JSON. */
  body: unknown
  /** Lets consumers deduplicate: derive it from the signal's primary key. */
  messageId?: string | number
  /** amqplib publish options; they override the defaults (persistent, content type, timestamp). */
  properties?: Options.Publish
  /** Fail the batch if the message cannot be routed to any queue. */
  mandatory?: boolean
}

export interface EncodedMessage {
  exchange: string
  routingKey: string
  content: Buffer
  options: Options.Publish
}

/** `timestamp` (seconds) is read once per batch by the caller, not once per message. */
export function encodeMessage(message: RabbitmqMessage, timestamp: number): EncodedMessage {
  const {content, contentType} = encodeBody(message)
  const {properties} = message
  // Built field by field rather than with object spreads: this runs for every message of every burst.
  const options: Options.Publish = {persistent: true, contentType, timestamp}
  if (message.messageId !== undefined) options.messageId = String(message.messageId)
  if (properties !== undefined) Object.assign(options, properties)
  options.mandatory = message.mandatory ?? properties?.mandatory ?? false
  if (contentType === 'application/json' && options.contentEncoding === undefined) options.contentEncoding = 'utf-8'
  return {exchange: message.exchange, routingKey: message.routingKey, content, options}
}

function encodeBody(message: RabbitmqMessage): {content: Buffer; contentType: string} {
  const {body} = message
  if (Buffer.isBuffer(body)) return {content: body, contentType: 'application/octet-stream'}
  if (body instanceof Uint8Array) return {content: Buffer.from(body), contentType: 'application/octet-stream'}
  if (typeof body === 'string') return {content: Buffer.from(body, 'utf8'), contentType: 'text/plain'}
  let json: string | undefined
  try {
    json = JSON.stringify(body)
  } catch (error) {
    throw new DeliveryError(`The body of a message to exchange "${message.exchange}" is not JSON-serialisable: ${String(error)}`, {
      kind: 'invalid-message',
    })
  }
  if (json === undefined) {
    throw new DeliveryError(`The body of a message to exchange "${message.exchange}" is not JSON-serialisable.`, {kind: 'invalid-message'})
  }
  return {content: Buffer.from(json, 'utf8'), contentType: 'application/json'}
}
