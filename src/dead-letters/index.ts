// Dead letters: the failure recorder the engine calls, listing and requeuing (see docs/dead-letters.md).
export {DeadLetters} from './dead-letters.js'
export type {DeadLetter, RequeueFailure, RequeueOptions, RequeueReport} from './dead-letters.js'
export {formatKey, keysToRequeue, parseKeyArgument} from './keys.js'
export type {DeadLetterKey, RequeueSelection} from './keys.js'
