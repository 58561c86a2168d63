import {expect} from 'chai'
import {createRequire} from 'node:module'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import {RabbitmqPublisher, SignalbusConfigError} from '../../src/index.js'
import {registerSignalbusPublisher, signalbusPublisher} from '../../src/nestjs/index.js'
import {repoRoot} from '../helpers/paths.js'

type Nestjs = typeof import('../../src/nestjs/index.js')

describe('the publisher registry of signalbus/nestjs', () => {
  it('returns the publisher registered under a name, and says what to do when there is none', () => {
    const publisher = new RabbitmqPublisher()
    const unregister = registerSignalbusPublisher(publisher, 'registry-test')
    expect(signalbusPublisher('registry-test')).to.equal(publisher)
    unregister()
    expect(() => signalbusPublisher('registry-test')).to.throw(
      SignalbusConfigError,
      'No RabbitMQ publisher is registered as "registry-test": import SignalbusModule with dataSourceName "registry-test" in the application, ' +
        'or call registerSignalbusPublisher() in the data-source file the signalbus CLI loads.',
    )
  })

  it('a later registration replaces an earlier one, whose unregister then leaves the newer one alone', () => {
    const first = new RabbitmqPublisher()
    const second = new RabbitmqPublisher()
    const unregisterFirst = registerSignalbusPublisher(first, 'registry-test')
    const unregisterSecond = registerSignalbusPublisher(second, 'registry-test')
    unregisterFirst()
    expect(signalbusPublisher('registry-test')).to.equal(second)
    unregisterSecond()
  })

  it('is one registry for the ESM and the CommonJS build (a CommonJS app flushed by the ESM CLI)', async () => {
    const esm = (await import(pathToFileURL(path.join(repoRoot, 'dist', 'nestjs', 'index.js')).href)) as Nestjs
    const cjs = createRequire(import.meta.url)(path.join(repoRoot, 'dist', 'cjs', 'nestjs', 'index.js')) as Nestjs
    expect(cjs.signalbusPublisher).not.to.equal(esm.signalbusPublisher)
    const publisher = new RabbitmqPublisher()
    const unregister = cjs.registerSignalbusPublisher(publisher, 'registry-test')
    expect(esm.signalbusPublisher('registry-test')).to.equal(publisher)
    unregister()
  })
})
