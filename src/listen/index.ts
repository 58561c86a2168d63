// Waking the --repeat loop on insert (PostgreSQL LISTEN/NOTIFY): the triggers' SQL, the listener and its debounced sleep.
export {dropListenTriggerStatements, listenTriggerStatements, listenTriggersPart} from './setup.js'
export {channelFor} from './channels.js'
export {PostgresListener} from './postgres-listener.js'
export type {PostgresListenerOptions} from './postgres-listener.js'
export {WakeUp} from './wake-up.js'
