// signalbus setup: the parts it may create and how they are planned and applied.
export {applySetup, setupPlan} from './setup.js'
export type {SetupPartPlan, SetupPlan} from './setup.js'
export {SETUP_PARTS} from './parts.js'
export type {SetupContext, SetupPart} from './parts.js'
