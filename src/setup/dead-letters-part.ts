// The setup part of dead letters: signalbus's attempts table and dead-letter table.
import type {SetupPart} from './parts.js'

export const deadLettersPart: SetupPart = {
  name: 'dead-letters',
  description: 'failed-send counts per signal and the dead-letter table (signalbusMaxAttempts, dead-letters, requeue)',
  statements: (context) => context.bookkeeping.createTables(context.tables),
}
