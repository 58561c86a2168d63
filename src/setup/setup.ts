// `signalbus setup`: the SQL that creates signalbus's own tables (printed for review, or applied idempotently).
import {DatabaseError, describeError} from '../errors.js'
import {SETUP_PARTS, type SetupContext, type SetupPart} from './parts.js'

export interface SetupPartPlan {
  name: string
  description: string
  statements: string[]
}

export interface SetupPlan {
  /** The data source's database type. */
  database: string
  /** True when the statements run in one transaction; false where DDL commits implicitly (MySQL, MariaDB). */
  transactional: boolean
  parts: SetupPartPlan[]
}

export function setupPlan(context: SetupContext, parts: readonly SetupPart[] = SETUP_PARTS): SetupPlan {
  return {
    database: context.databaseType,
    transactional: context.bookkeeping.transactionalDdl,
    parts: parts
      .map((part) => ({name: part.name, description: part.description, statements: part.statements(context)}))
      .filter((part) => part.statements.length > 0),
  }
}

/**
 * Runs the plan's statements: in one transaction where the database has transactional DDL (all or nothing), else
 * one after the other — each is idempotent, so running setup again finishes what an interrupted run began.
 */
export async function applySetup(context: SetupContext, plan: SetupPlan): Promise<void> {
  const statements = plan.parts.flatMap((part) => part.statements)
  const runner = context.dataSource.createQueryRunner()
  let open = false
  try {
    if (plan.transactional) {
      await context.bookkeeping.begin(runner)
      open = true
    }
    for (const statement of statements) await runner.query(statement)
    if (open) {
      await context.bookkeeping.commit(runner)
      open = false
    }
  } catch (error) {
    if (open) await context.bookkeeping.rollback(runner).catch(() => undefined)
    throw new DatabaseError(`signalbus setup failed: ${describeError(error)}`, {cause: error})
  } finally {
    await runner.release()
  }
}
