// The ESM build (dist/) and the CommonJS build (dist/cjs/) of the package, loaded together in one process the way
// a CommonJS app run by the ESM CLI loads them: two module instances whose process-wide state must be one.
import {expect} from 'chai'
import {createRequire} from 'node:module'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {DataSource} from 'typeorm'
import {repoRoot} from '../helpers/paths.js'

type Signalbus = typeof import('../../src/index.js')

const esmEntry = path.join(repoRoot, 'dist', 'index.js')
const cjsEntry = path.join(repoRoot, 'dist', 'cjs', 'index.js')

describe('the ESM and CommonJS builds loaded side by side (the dual-package hazard)', () => {
  let esm: Signalbus
  let cjs: Signalbus
  let dataSource: DataSource

  before(async () => {
    esm = (await import(pathToFileURL(esmEntry).href)) as Signalbus
    cjs = createRequire(import.meta.url)(cjsEntry) as Signalbus
    dataSource = await new DataSource({type: 'better-sqlite3', database: ':memory:'}).initialize()
  })

  after(async () => {
    await dataSource?.destroy()
  })

  it('are two module instances exporting the same names', () => {
    expect(cjs.SignalBus).not.to.equal(esm.SignalBus)
    expect(Object.keys(cjs).sort()).to.deep.equal(Object.keys(esm).sort())
  })

  it("recognise each other's errors with instanceof, and only as their own class", () => {
    expect(new cjs.SignalbusConfigError('x')).to.be.instanceOf(esm.SignalbusConfigError)
    expect(new esm.DBSerializationError()).to.be.instanceOf(cjs.DBSerializationError)
    expect(new cjs.DeliveryError('x', {kind: 'unreachable'})).to.be.instanceOf(Error)
    expect(new cjs.DatabaseError('x')).not.to.be.instanceOf(esm.SignalbusConfigError)
    expect(new Error('x')).not.to.be.instanceOf(esm.DeliveryError)
  })

  it("run the other build's shutdown hooks", async () => {
    let ran = 0
    cjs.onShutdown(() => void (ran += 1))
    await esm.runShutdownHooks()
    expect(ran).to.equal(1)
  })

  it("join the other build's open atomic transaction (retryOnIntegrityError inside executeAtomic)", async () => {
    const result = await cjs.executeAtomic(dataSource, async (outer) =>
      esm.retryOnIntegrityError(dataSource, async (inner) => inner === outer),
    )
    expect(result, 'the inner block got the outer transaction manager').to.equal(true)
  })
})
