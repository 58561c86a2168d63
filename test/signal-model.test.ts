// The signal model contract as SignalBus checks it: which entities are signal models, and what makes one invalid.
import {expect} from 'chai'
import {DataSource} from 'typeorm'
import {SignalBus, SignalbusConfigError, type SignalModel} from '../src/index.js'
import {
  BatchNotAMethod,
  FourInFlight,
  EmptyOrdering,
  FractionBurst,
  HalfInFlight,
  InheritedSender,
  LookAlike,
  NotAMethod,
  NullableOrdering,
  PerAccountSignal,
  Shipped,
  TextBurst,
  ThreeAttempts,
  ZeroAttempts,
  UnknownOrdering,
  ZeroBurst,
} from './fixtures/models/entities.js'
import {connectionOptions} from './fixtures/signals/data-sources.js'
import {entities} from './fixtures/signals/entities.js'
import {IsolatedDatabase} from './helpers/inspection.js'

describe('signal models', () => {
  let isolated: IsolatedDatabase | undefined

  afterEach(async () => {
    await isolated?.destroy()
    isolated = undefined
  })

  async function signalBusOver(entityClasses: Function[]): Promise<SignalBus> {
    isolated = await IsolatedDatabase.create('sqlite', entityClasses)
    return new SignalBus(isolated.dataSource)
  }

  function configErrorOf(action: () => unknown): SignalbusConfigError {
    try {
      action()
    } catch (error) {
      expect(error).to.be.instanceOf(SignalbusConfigError)
      return error as SignalbusConfigError
    }
    throw new Error('expected a SignalbusConfigError, nothing was thrown')
  }

  it('finds the models of the fixtures with their burst counts and send methods, and skips plain entities', async () => {
    const signalbus = await signalBusOver(entities)
    const summary = (model: SignalModel): unknown[] => [model.name, model.burstCount, model.sendsOneByOne, model.sendsInBatches]
    expect(signalbus.getSignalModels().map(summary)).to.deep.equal([
      ['Signal', 1, true, true],
      ['CompositeSignal', 7, true, false],
      ['BatchSignal', 50, false, true],
    ])
  })

  it('getSignalModels throws SignalbusConfigError naming the model when sendSignalbusMessage is not a function', async () => {
    const signalbus = await signalBusOver([Shipped, NotAMethod])
    const error = configErrorOf(() => signalbus.getSignalModels())
    expect(error.message).to.contain('NotAMethod').and.to.contain('sendSignalbusMessage')
  })

  it('getSignalModels throws SignalbusConfigError naming the model when the static sendSignalbusMessages is not a function', async () => {
    const signalbus = await signalBusOver([BatchNotAMethod])
    const error = configErrorOf(() => signalbus.getSignalModels())
    expect(error.message).to.contain('BatchNotAMethod').and.to.contain('sendSignalbusMessages')
  })

  for (const [model, shown] of [
    [ZeroBurst, '0'],
    [TextBurst, 'abc'],
    [FractionBurst, '2.5'],
  ] as const) {
    it(`a signalbusBurstCount of ${shown} is a SignalbusConfigError naming ${model.name}`, async () => {
      const signalbus = await signalBusOver([model])
      const error = configErrorOf(() => signalbus.getSignalModels())
      expect(error.message).to.contain(model.name).and.to.contain('signalbusBurstCount').and.to.contain(shown)
    })
  }

  it('reads signalbusMaxAttempts, and leaves it undefined when the model declares none', async () => {
    const signalbus = await signalBusOver([ThreeAttempts, Shipped])
    expect(signalbus.getSignalModels().map((model) => [model.name, model.maxAttempts])).to.have.deep.members([
      ['ThreeAttempts', 3],
      ['Shipped', undefined],
    ])
  })

  it('a signalbusMaxAttempts of 0 is a SignalbusConfigError naming the model', async () => {
    const signalbus = await signalBusOver([ZeroAttempts])
    const error = configErrorOf(() => signalbus.getSignalModels())
    expect(error.message).to.contain('ZeroAttempts').and.to.contain('signalbusMaxAttempts').and.to.contain('0')
  })

  it('reads signalbusInFlight, 1 when the model declares none', async () => {
    const signalbus = await signalBusOver([FourInFlight, Shipped])
    expect(signalbus.getSignalModels().map((model) => [model.name, model.inFlight])).to.have.deep.members([
      ['FourInFlight', 4],
      ['Shipped', 1],
    ])
  })

  it('a signalbusInFlight of 1.5 is a SignalbusConfigError naming the model', async () => {
    const signalbus = await signalBusOver([HalfInFlight])
    const error = configErrorOf(() => signalbus.getSignalModels())
    expect(error.message).to.equal('Signal model "HalfInFlight" has signalbusInFlight 1.5; it must be a positive integer.')
  })

  it('signalbusOrderingKey resolves property names to their columns, a composite key in declaration order', async () => {
    const signalbus = await signalBusOver([PerAccountSignal, Shipped])
    const byName = (name: string): SignalModel | undefined => signalbus.getSignalModels().find((model) => model.name === name)
    const [ordered, unordered] = [byName('PerAccountSignal'), byName('Shipped')]
    expect([ordered?.orderingKey, ordered?.orderingColumns]).to.deep.equal([['tenantId', 'account'], ['tenant_id', 'account']])
    expect([unordered?.orderingKey, unordered?.orderingColumns]).to.deep.equal([null, []])
  })

  it('a signalbusOrderingKey naming no property is a SignalbusConfigError naming the model and the property', async () => {
    const signalbus = await signalBusOver([UnknownOrdering])
    const error = configErrorOf(() => signalbus.getSignalModels())
    expect(error.message).to.contain('UnknownOrdering').and.to.contain('signalbusOrderingKey').and.to.contain('"orderId"')
  })

  it('a signalbusOrderingKey on a nullable column is a SignalbusConfigError naming the model and the property', async () => {
    const signalbus = await signalBusOver([NullableOrdering])
    const error = configErrorOf(() => signalbus.getSignalModels())
    expect(error.message).to.contain('NullableOrdering').and.to.contain('"orderId"').and.to.contain('NOT NULL')
  })

  it('an empty signalbusOrderingKey array is a SignalbusConfigError naming the model', async () => {
    const signalbus = await signalBusOver([EmptyOrdering])
    const error = configErrorOf(() => signalbus.getSignalModels())
    expect(error.message).to.contain('EmptyOrdering').and.to.contain('signalbusOrderingKey')
  })

  it('keeps failing on every call, not only the first', async () => {
    const signalbus = await signalBusOver([NotAMethod])
    configErrorOf(() => signalbus.getSignalModels())
    configErrorOf(() => signalbus.getSignalModels())
  })

  it('an entity with neither send method is not a signal model, whatever else it declares', async () => {
    const signalbus = await signalBusOver([LookAlike, Shipped])
    expect(signalbus.getSignalModels().map((model) => model.name)).to.deep.equal(['Shipped'])
  })

  it('a sendSignalbusMessage inherited from a base class makes a signal model', async () => {
    const signalbus = await signalBusOver([InheritedSender])
    const [model] = signalbus.getSignalModels()
    expect(model?.name).to.equal('InheritedSender')
    expect(model?.burstCount).to.equal(1)
    expect(model?.sendsOneByOne).to.equal(true)
  })

  it('new SignalBus with a DataSource that is not initialized throws SignalbusConfigError', () => {
    const dataSource = new DataSource({...connectionOptions('sqlite', ':memory:'), entities})
    const error = configErrorOf(() => new SignalBus(dataSource))
    expect(error.message).to.match(/initiali[sz]ed/)
    expect(dataSource.isInitialized).to.equal(false)
  })
})
