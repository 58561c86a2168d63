// getModelsToFlush: how names given by a user become signal models. Pure name logic, so SQLite is enough,
// but over a real, initialized data source.
import {expect} from 'chai'
import {SignalBus, SignalbusConfigError, getModelsToFlush, type SignalModel} from '../src/index.js'
import {Delivered, Shipped} from './fixtures/models/entities.js'
import {BatchSignal, CompositeSignal, Signal} from './fixtures/signals/entities.js'
import {IsolatedDatabase} from './helpers/inspection.js'
import {TestDatabase} from './helpers/test-database.js'

const names = (models: SignalModel[]): string[] => models.map((model) => model.name)

describe('getModelsToFlush', () => {
  let db: TestDatabase
  let signalbus: SignalBus
  let warnings: string[]
  const onWarning = (message: string): void => {
    warnings.push(message)
  }
  const tableOf = (entity: Function): string => db.dataSource.getMetadata(entity).tableName

  beforeEach(async () => {
    db = await TestDatabase.create('sqlite')
    signalbus = new SignalBus(db.dataSource)
    warnings = []
  })

  afterEach(async () => {
    await db.destroy()
  })

  it('returns every signal model, in entity order, when no name is given', () => {
    expect(names(getModelsToFlush(signalbus))).to.deep.equal(['Signal', 'CompositeSignal', 'BatchSignal'])
    expect(names(getModelsToFlush(signalbus, [], {onWarning}))).to.deep.equal(['Signal', 'CompositeSignal', 'BatchSignal'])
    expect(warnings).to.deep.equal([])
  })

  it('resolves exact entity class names, in the order given', () => {
    const models = getModelsToFlush(signalbus, ['BatchSignal', 'Signal'], {onWarning})
    expect(names(models)).to.deep.equal(['BatchSignal', 'Signal'])
    expect(models[0]!.target).to.equal(BatchSignal)
    expect(warnings).to.deep.equal([])
  })

  it('matches class names exactly: another case is not the class name', () => {
    const models = getModelsToFlush(signalbus, ['batchsignal'], {onWarning})
    expect(models).to.deep.equal([])
    expect(warnings).to.deep.equal(['A signal with name "batchsignal" does not exist.'])
  })

  it('resolves table names as the database knows them (entityPrefix applied)', () => {
    const models = getModelsToFlush(signalbus, [tableOf(CompositeSignal)], {onWarning})
    expect(tableOf(CompositeSignal)).to.equal(`${db.prefix}composite_signal`)
    expect(models.map((model) => model.target)).to.deep.equal([CompositeSignal])
    expect(warnings).to.deep.equal([])
  })

  it('warns through onWarning, once per unknown name, with the documented message, and skips it', () => {
    const models = getModelsToFlush(signalbus, ['Nope', 'Signal', 'Nope', 'Customer'], {onWarning})
    expect(names(models)).to.deep.equal(['Signal'])
    expect(warnings).to.deep.equal([
      'A signal with name "Nope" does not exist.',
      'A signal with name "Customer" does not exist.',
    ])
  })

  it("warns by default (onUnknown 'warn')", () => {
    getModelsToFlush(signalbus, ['Nope'], {onWarning})
    expect(warnings).to.deep.equal(['A signal with name "Nope" does not exist.'])
  })

  it("onUnknown 'error' throws SignalbusConfigError with the documented message", () => {
    expect(() => getModelsToFlush(signalbus, ['Signal', 'Nope'], {onUnknown: 'error', onWarning}))
      .to.throw(SignalbusConfigError, 'A signal with name "Nope" does not exist.')
    expect(warnings).to.deep.equal([])
  })

  it("onUnknown 'error' names every unknown name in one error", () => {
    let caught: unknown
    try {
      getModelsToFlush(signalbus, ['Nope', 'Signal', 'Other'], {onUnknown: 'error'})
    } catch (error) {
      caught = error
    }
    expect(caught).to.be.instanceOf(SignalbusConfigError)
    expect((caught as Error).message).to.contain('"Nope"').and.to.contain('"Other"')
    expect((caught as Error).message).not.to.contain('\n')
  })

  it('sums up more than five unknown names in one warning line (10,000 names, one line)', () => {
    const many = Array.from({length: 10_000}, (_, index) => `Nope${index}`)
    const models = getModelsToFlush(signalbus, [...many, 'Signal'], {onWarning})
    expect(names(models)).to.deep.equal(['Signal'])
    expect(warnings).to.deep.equal(['Signals with names "Nope0", "Nope1", "Nope2", "Nope3", "Nope4" and 9995 more do not exist.'])
  })

  it("onUnknown 'ignore' skips unknown names silently", () => {
    const models = getModelsToFlush(signalbus, ['Nope', 'CompositeSignal'], {onUnknown: 'ignore', onWarning})
    expect(names(models)).to.deep.equal(['CompositeSignal'])
    expect(warnings).to.deep.equal([])
  })

  it('onUnknown as a function receives each unknown name instead of a warning', () => {
    const seen: string[] = []
    const models = getModelsToFlush(signalbus, ['Nope', 'Signal', 'Other'], {onUnknown: (name) => seen.push(name), onWarning})
    expect(names(models)).to.deep.equal(['Signal'])
    expect(seen).to.deep.equal(['Nope', 'Other'])
    expect(warnings).to.deep.equal([])
  })

  it('returns a model once when it is named several times, by class name and by table name', () => {
    const models = getModelsToFlush(signalbus, ['Signal', tableOf(Signal), 'BatchSignal', 'Signal'], {onWarning})
    expect(names(models)).to.deep.equal(['Signal', 'BatchSignal'])
  })

  it('exclude leaves models out, by class name or table name, of all models and of named ones', () => {
    expect(names(getModelsToFlush(signalbus, [], {exclude: ['CompositeSignal', tableOf(BatchSignal)]}))).to.deep.equal(['Signal'])
    expect(names(getModelsToFlush(signalbus, ['BatchSignal', 'Signal'], {exclude: ['Signal']}))).to.deep.equal(['BatchSignal'])
  })

  it('an unknown name in exclude is reported like any unknown name', () => {
    expect(names(getModelsToFlush(signalbus, [], {exclude: ['Nope'], onWarning}))).to.have.length(3)
    expect(warnings).to.deep.equal(['A signal with name "Nope" does not exist.'])
    expect(() => getModelsToFlush(signalbus, [], {exclude: ['Nope'], onUnknown: 'error'})).to.throw(SignalbusConfigError)
  })

  describe('when a class name is also the table name of another model', () => {
    let isolated: IsolatedDatabase
    let crossed: SignalBus

    beforeEach(async () => {
      isolated = await IsolatedDatabase.create('sqlite', [Shipped, Delivered])
      crossed = new SignalBus(isolated.dataSource)
    })

    afterEach(async () => {
      await isolated.destroy()
    })

    it('resolves the name to the model with that class name', () => {
      expect(isolated.dataSource.getMetadata(Shipped).tableName).to.equal('Delivered')
      expect(getModelsToFlush(crossed, ['Delivered']).map((model) => model.target)).to.deep.equal([Delivered])
      expect(getModelsToFlush(crossed, ['Shipped']).map((model) => model.target)).to.deep.equal([Shipped])
    })

    it('still resolves the other model by its own table name', () => {
      expect(getModelsToFlush(crossed, ['shipped_signal']).map((model) => model.target)).to.deep.equal([Delivered])
    })

    it('excludes by the same rule', () => {
      expect(getModelsToFlush(crossed, [], {exclude: ['Delivered']}).map((model) => model.target)).to.deep.equal([Shipped])
    })
  })
})
