// One publish() call's messages and what became of each on the shared confirm channel, and the DeliveryError that
// tells the call — and only that call — what went wrong with its own messages.
import {DeliveryError, type DeliveryErrorKind} from '../errors.js'
import type {EncodedMessage} from './message.js'

/** What became of one message of a delivery. */
export const Outcome = {
  Pending: 0,
  Confirmed: 1,
  Nacked: 2,
  /** The channel closed before its confirm came (or it could not be written any more): not known to be stored. */
  Unconfirmed: 3,
} as const
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

export class Delivery {
  readonly outcomes: Uint8Array
  /** Indexes of mandatory messages the broker returned as unroutable, with the broker's reason. */
  readonly returned = new Map<number, string>()
  /** Set when the caller has been answered (timeout): nothing more is published for it. */
  abandoned = false
  /** Channels this delivery has been published on; a confirm from an older one is not counted. */
  attempts = 0

  constructor(
    readonly id: number,
    readonly messages: readonly EncodedMessage[],
  ) {
    this.outcomes = new Uint8Array(messages.length)
  }

  indexesWith(outcome: Outcome): number[] {
    const indexes: number[] = []
    for (let index = 0; index < this.outcomes.length; index++) if (this.outcomes[index] === outcome) indexes.push(index)
    return indexes
  }

  /** The exchanges the given messages went to, for error messages. */
  exchanges(indexes: readonly number[]): string {
    return [...new Set(indexes.map((index) => this.messages[index]!.exchange || '(default)'))].join(', ')
  }
}

/**
 * A channel error the broker raised because of particular messages, and a test that tells which: a missing
 * exchange (404) or a message over `max_message_size` (406). Any other channel error is nobody's in particular.
 * A missing exchange is still of kind `channel-closed` (every signal sent there fails alike: systemic, not one
 * signal's own); the test only tells which publish() call to blame and which calls may publish again.
 */
export interface ChannelFault {
  readonly kind: Extract<DeliveryErrorKind, 'channel-closed' | 'too-large'>
  readonly isCulprit: (message: EncodedMessage) => boolean
  /** For too-large: the broker's limit, so that later messages over it are refused before they close the channel. */
  readonly maxMessageSize?: number
}

const NO_EXCHANGE = /no exchange '((?:[^']|'')*)' in vhost/
const TOO_LARGE = /message size (\d+) is larger than (?:configured )?max size (\d+)/

export function channelFault(error: Error | undefined): ChannelFault | undefined {
  if (!error) return undefined
  const code = (error as {code?: unknown}).code
  const noExchange = code === 404 ? NO_EXCHANGE.exec(error.message) : null
  if (noExchange) {
    const exchange = noExchange[1]!
    return {kind: 'channel-closed', isCulprit: (message) => message.exchange === exchange}
  }
  const tooLarge = code === 406 ? TOO_LARGE.exec(error.message) : null
  if (tooLarge) {
    const max = Number(tooLarge[2])
    return {kind: 'too-large', isCulprit: (message) => message.content.length > max, maxMessageSize: max}
  }
  return undefined
}

export function culprits(delivery: Delivery, fault: ChannelFault, among: readonly number[]): number[] {
  return among.filter((index) => fault.isCulprit(delivery.messages[index]!))
}

export function faultError(delivery: Delivery, fault: ChannelFault, indexes: number[], reason: string, cause: unknown): DeliveryError {
  const total = delivery.messages.length
  const what = fault.kind === 'too-large' ? 'too large for the broker' : 'sent to a missing exchange'
  return new DeliveryError(`${indexes.length} of ${total} message(s) to exchange ${delivery.exchanges(indexes)} were ${what}: ${reason}`, {
    kind: fault.kind,
    failedMessages: indexes,
    cause,
  })
}

export function tooLargeError(delivery: Delivery, indexes: number[], max: number): DeliveryError {
  const sizes = indexes.map((index) => delivery.messages[index]!.content.length)
  return new DeliveryError(
    `${indexes.length} of ${delivery.messages.length} message(s) to exchange ${delivery.exchanges(indexes)} were not sent: ` +
      `message size ${Math.max(...sizes)} is larger than configured max size ${max} (the broker's max_message_size).`,
    {kind: 'too-large', failedMessages: indexes},
  )
}

export function nackError(delivery: Delivery, nacked: number[]): DeliveryError {
  return new DeliveryError(
    `RabbitMQ refused (nacked) ${nacked.length} of ${delivery.messages.length} message(s) to exchange ${delivery.exchanges(nacked)}.`,
    {kind: 'nacked', failedMessages: nacked},
  )
}

export function returnedError(delivery: Delivery): DeliveryError {
  const indexes = [...delivery.returned.keys()].sort((a, b) => a - b)
  const first = delivery.messages[indexes[0]!]!
  return new DeliveryError(
    `${indexes.length} of ${delivery.messages.length} mandatory message(s) could not be routed ` +
      `(exchange "${first.exchange}", routing key "${first.routingKey}"): ${delivery.returned.get(indexes[0]!)}.`,
    {kind: 'unroutable', failedMessages: indexes},
  )
}

export function unconfirmedError(delivery: Delivery, unconfirmed: number[], kind: 'connection-lost' | 'channel-closed', reason: string, cause: unknown): DeliveryError {
  return new DeliveryError(
    `${unconfirmed.length} of ${delivery.messages.length} message(s) to exchange ${delivery.exchanges(unconfirmed)} were not confirmed: ${reason}`,
    {kind, cause},
  )
}
