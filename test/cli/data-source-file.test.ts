// Finding and loading users' data source files. Registering ts-node changes the whole process, so every load of a
// fixture project runs in a fresh Node process (test/fixtures/data-sources/load.mjs), started outside the repo.
import {expect} from 'chai'
import {spawn} from 'node:child_process'
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {loadDataSource, resolveDataSourcePath} from '../../src/cli/data-source-file.js'
import {SignalbusConfigError} from '../../src/errors.js'
import {repoRoot, testTreeRoot} from '../helpers/paths.js'

const FIXTURES = path.join(repoRoot, 'test', 'fixtures', 'data-sources')
const LOADER_MODULE = path.join(testTreeRoot, 'src', 'cli', 'data-source-file.js')
const PROBE = path.join(FIXTURES, 'load.mjs')

interface EntityInfo {
  name: string
  table: string
  columns: Record<string, string>
  hasSendMethod: boolean
}

const TRANSPILERS = ['swc', 'typescript'] as const
const TRANSPILER_PACKAGES = {swc: '@swc/core', typescript: 'typescript'} as const

interface LoadResult {
  ok: boolean
  /** Transpiler packages loaded in the probe's main thread (CommonJS projects load them there). */
  loadedTranspilers?: string[]
  /** The `answer` property of the loaded DataSource-like object, for stand-ins. */
  answer?: number
  wasInitialized?: boolean
  isInitialized?: boolean
  entities?: EntityInfo[]
  error?: {name: string; message: string; hasCause: boolean}
}

interface ProbeRun {
  result: LoadResult
  stderr: string
}

function fixture(relativePath: string): string {
  return path.join(FIXTURES, relativePath)
}

/**
 * Loads and initializes `file` in a fresh Node process whose cwd is not the fixture project (nor the repo), with
 * the compiled-file cache off unless `extraEnv` says otherwise (so that the transpiler under test really runs).
 */
function loadInChild(file: string, extraEnv: Record<string, string> = {}): Promise<ProbeRun> {
  const env = {
    ...Object.fromEntries(
      Object.entries(process.env).filter(([name]) => !/^(TS_NODE_|SIGNALBUS_)/.test(name) && name !== 'NODE_OPTIONS'),
    ),
    SIGNALBUS_TS_CACHE_DIR: 'off',
    ...extraEnv,
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PROBE, LOADER_MODULE, file], {cwd: tmpdir(), env})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((text) => text.startsWith('RESULT '))
      if (code !== 0 || line === undefined) {
        reject(new Error(`probe exited with ${code}:\n${stdout}\n${stderr}`))
        return
      }
      resolve({result: JSON.parse(line.slice('RESULT '.length)) as LoadResult, stderr})
    })
  })
}

async function expectLoads(
  file: string,
  entity: Omit<EntityInfo, 'hasSendMethod' | 'columns'>,
  env: Record<string, string> = {},
): Promise<ProbeRun> {
  const run = await loadInChild(file, env)
  const {result, stderr} = run
  expect(result.error, 'load error').to.equal(undefined)
  expect(result.wasInitialized, 'returned already initialized').to.equal(false)
  expect(result.isInitialized).to.equal(true)
  expect(result.entities).to.deep.equal([
    {...entity, columns: {id: 'Number', message: 'String'}, hasSendMethod: true},
  ])
  expect(stderr).to.not.match(/warning/i)
  return run
}

async function expectLoadError(file: string, env: Record<string, string> = {}): Promise<{message: string; hasCause: boolean}> {
  const {result} = await loadInChild(file, env)
  expect(result.ok).to.equal(false)
  expect(result.error?.name).to.equal('SignalbusConfigError')
  const error = result.error as {message: string; hasCause: boolean}
  expect(error.message).to.not.include('\n')
  return error
}

describe('loadDataSource', () => {
  describe('loads the one DataSource of each kind of project, not initialized', () => {
    for (const transpiler of TRANSPILERS) {
      const env = {SIGNALBUS_TRANSPILER: transpiler}

      it(`a CommonJS TypeScript project whose tsconfig says "module": "esnext", with decorator metadata (${transpiler})`, async () => {
        await expectLoads(fixture('ts-commonjs/data-source.ts'), {name: 'TsCommonjsSignal', table: 'ts_commonjs_signal'}, env)
      })

      it(`an ESM TypeScript project ("type": "module") importing its entity as ./entity.js (${transpiler})`, async () => {
        await expectLoads(fixture('ts-esm/data-source.ts'), {name: 'TsEsmSignal', table: 'ts_esm_signal'}, env)
      })

      it(`a .mts file exporting the same DataSource as default and named, counted once (${transpiler})`, async () => {
        await expectLoads(fixture('named-and-default/data-source.mts'), {name: 'NamedAndDefaultSignal', table: 'named_and_default_signal'}, env)
      })

      it(`an ESM TypeScript project whose tsconfig says "module": "commonjs", the package type wins (${transpiler})`, async () => {
        await expectLoads(fixture('ts-esm-tsconfig-commonjs/data-source.ts'), {name: 'MismatchedSignal', table: 'mismatched_signal'}, env)
      })

      it(`a CommonJS project importing through tsconfig baseUrl (src/…) and paths (@queues/*) of an extended tsconfig (${transpiler})`, async () => {
        await expectLoads(fixture('ts-paths/src/data-source.ts'), {name: 'PathsSignal', table: 'paths_signal'}, env)
      })

      it(`an ESM project importing through a tsconfig paths alias without baseUrl (${transpiler})`, async () => {
        await expectLoads(fixture('ts-esm-paths/data-source.ts'), {name: 'EsmPathsSignal', table: 'esm_paths_signal'}, env)
      })
    }

    it('an ESM JavaScript project whose signal class is mapped by an EntitySchema', async () => {
      await expectLoads(fixture('js-esm/data-source.js'), {name: 'JsEsmSignal', table: 'js_esm_signal'})
    })

    it('a .cjs module that sets module.exports = {dataSource}', async () => {
      await expectLoads(fixture('cjs/data-source.cjs'), {name: 'CjsSignal', table: 'cjs_signal'})
    })

    it('a .cjs module whose exports the CommonJS lexer cannot see, through the default export\'s properties', async () => {
      await expectLoads(fixture('cjs/computed-exports.cjs'), {name: 'CjsSignal', table: 'cjs_signal'})
    })

    it('a .mjs module whose only export is a promise of a DataSource', async () => {
      await expectLoads(fixture('promise/data-source.mjs'), {name: 'PromiseSignal', table: 'promise_signal'})
    })
  })

  describe('caches compiled TypeScript by content', () => {
    let cacheDir: string
    beforeEach(async () => {
      cacheDir = await mkdtemp(path.join(tmpdir(), 'signalbus-ts-cache-test-'))
    })
    afterEach(async () => {
      await rm(cacheDir, {recursive: true, force: true})
    })

    for (const transpiler of TRANSPILERS) {
      it(`a second load of unchanged files uses the cache and loads no transpiler (${transpiler})`, async () => {
        const file = fixture('ts-paths/src/data-source.ts')
        const entity = {name: 'PathsSignal', table: 'paths_signal'}
        const env = {SIGNALBUS_TRANSPILER: transpiler, SIGNALBUS_TS_CACHE_DIR: cacheDir}
        const first = await expectLoads(file, entity, env)
        expect(first.result.loadedTranspilers, 'first load').to.deep.equal([TRANSPILER_PACKAGES[transpiler]])
        expect(await readdir(cacheDir), 'one cached file per TypeScript file').to.have.length(3)
        const second = await expectLoads(file, entity, env)
        expect(second.result.loadedTranspilers, 'second load').to.deep.equal([])
      })
    }

    it('a changed file is compiled again (the cache is keyed by content, transpiler and compiler options)', async () => {
      const project = await mkdtemp(path.join(tmpdir(), 'signalbus-ts-changed-'))
      try {
        const file = path.join(project, 'data-source.ts')
        const env = {SIGNALBUS_TS_CACHE_DIR: cacheDir}
        await writeFile(file, "export const answer: number = 1\nexport const dataSource = {'@instanceof': Symbol.for('DataSource'), answer}\n")
        await loadInChild(file, env)
        await writeFile(file, "export const answer: number = 2\nexport const dataSource = {'@instanceof': Symbol.for('DataSource'), answer}\n")
        const {result} = await loadInChild(file, env)
        expect(result.answer).to.equal(2)
        expect(await readdir(cacheDir)).to.have.length(2)
      } finally {
        await rm(project, {recursive: true, force: true})
      }
    })
  })

  it('recognises a DataSource from another copy of typeorm by its brand, not by instanceof', async () => {
    const project = await mkdtemp(path.join(tmpdir(), 'signalbus-other-typeorm-'))
    try {
      const file = path.join(project, 'data-source.mjs')
      await writeFile(file, "export const dataSource = {'@instanceof': Symbol.for('DataSource'), copy: 'theirs'}\n")
      const loaded = (await loadDataSource(file)) as unknown as {copy: string}
      expect(loaded.copy).to.equal('theirs')
    } finally {
      await rm(project, {recursive: true, force: true})
    }
  })

  describe('fails with a one-line SignalbusConfigError naming the file', () => {
    it('when the module exports no DataSource', async () => {
      const file = fixture('none/data-source.js')
      const error = await expectLoadError(file)
      expect(error.message).to.equal(`Data source file "${file}" exports no TypeORM DataSource.`)
    })

    it('when the module exports two different DataSources, naming both exports', async () => {
      const file = fixture('two/data-source.cts')
      const error = await expectLoadError(file)
      expect(error.message).to.equal(
        `Data source file "${file}" exports 2 DataSources (primary, replica); export exactly one.`,
      )
    })

    it('when the module throws while imported, keeping the cause', async () => {
      const file = fixture('throws/data-source.js')
      const error = await expectLoadError(file)
      expect(error.message).to.equal(`Could not load data source file "${file}": boom at import`)
      expect(error.hasCause).to.equal(true)
    })

    for (const transpiler of TRANSPILERS) {
      it(`when an ESM TypeScript file does not compile, with the compiler message and its line (${transpiler})`, async () => {
        // Outside the repo (no transpiler there: signalbus's own is used), so the repo's tsc never sees this file.
        const project = await mkdtemp(path.join(tmpdir(), 'signalbus-broken-ts-'))
        try {
          const file = path.join(project, 'data-source.ts')
          await writeFile(path.join(project, 'package.json'), JSON.stringify({type: 'module'}))
          await writeFile(file, 'export const answer: number =\n')
          const error = await expectLoadError(file, {SIGNALBUS_TRANSPILER: transpiler})
          const compilerMessage = transpiler === 'swc' ? 'data-source.ts(1,31): Expression expected' : 'data-source.ts(1,30): error TS1109: Expression expected.'
          expect(error.message).to.equal(`Could not load data source file "${file}": ${compilerMessage}`)
        } finally {
          await rm(project, {recursive: true, force: true})
        }
      })
    }

    it('when SIGNALBUS_TRANSPILER names a transpiler signalbus does not use', async () => {
      const error = await expectLoadError(fixture('ts-esm/data-source.ts'), {SIGNALBUS_TRANSPILER: 'esbuild'})
      expect(error.message).to.equal('SIGNALBUS_TRANSPILER must be "swc" or "typescript", not "esbuild".')
    })

    it('when the file does not exist', async () => {
      const file = path.join(FIXTURES, 'no-such-project', 'data-source.js')
      const error: unknown = await loadDataSource(file).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(error).to.be.instanceOf(SignalbusConfigError)
      expect((error as Error).message).to.match(/^Could not load data source file ".*no-such-project\/data-source\.js": /)
      expect((error as Error).message).to.not.include('\n')
    })

    it('when the file is of a kind it cannot load', async () => {
      const file = path.join(FIXTURES, 'cjs', 'package.json')
      const error: unknown = await loadDataSource(file).then(
        () => undefined,
        (thrown: unknown) => thrown,
      )
      expect(error).to.be.instanceOf(SignalbusConfigError)
      expect((error as Error).message).to.equal(
        `Data source file "${file}" must end in .js, .mjs, .cjs, .ts, .mts or .cts.`,
      )
    })
  })
})

describe('resolveDataSourcePath', () => {
  let root: string
  let project: string
  let deeper: string

  /** root/package.json (no signalbus key); root/project/package.json names db/data-source.js; cwd-like root/project/src/deeper. */
  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'signalbus-data-source-'))
    project = path.join(root, 'project')
    deeper = path.join(project, 'src', 'deeper')
    await mkdir(deeper, {recursive: true})
    await mkdir(path.join(project, 'db'))
    await writeFile(path.join(root, 'package.json'), JSON.stringify({name: 'outer'}))
    await writeFile(
      path.join(project, 'package.json'),
      JSON.stringify({name: 'project', signalbus: {dataSource: 'db/data-source.js'}}),
    )
    for (const file of ['db/data-source.js', 'src/deeper/flag.js', 'src/deeper/env.js']) {
      await writeFile(path.join(project, file), '')
    }
  })

  afterEach(async () => {
    await rm(root, {recursive: true, force: true})
  })

  async function rejection(promise: Promise<unknown>): Promise<Error> {
    const error: unknown = await promise.then(
      () => undefined,
      (thrown: unknown) => thrown,
    )
    expect(error).to.be.instanceOf(SignalbusConfigError)
    expect((error as Error).message).to.not.include('\n')
    return error as Error
  }

  it('prefers the flag, relative to cwd, over SIGNALBUS_DATA_SOURCE and package.json', async () => {
    const resolved = await resolveDataSourcePath('flag.js', {cwd: deeper, env: {SIGNALBUS_DATA_SOURCE: 'env.js'}})
    expect(resolved).to.equal(path.join(deeper, 'flag.js'))
  })

  it('takes an absolute flag as it is', async () => {
    const absolute = path.join(project, 'db', 'data-source.js')
    expect(await resolveDataSourcePath(absolute, {cwd: root, env: {}})).to.equal(absolute)
  })

  it('uses SIGNALBUS_DATA_SOURCE, relative to cwd, when there is no flag', async () => {
    const resolved = await resolveDataSourcePath(undefined, {cwd: deeper, env: {SIGNALBUS_DATA_SOURCE: 'env.js'}})
    expect(resolved).to.equal(path.join(deeper, 'env.js'))
  })

  it('ignores an empty SIGNALBUS_DATA_SOURCE', async () => {
    const resolved = await resolveDataSourcePath(undefined, {cwd: deeper, env: {SIGNALBUS_DATA_SOURCE: ''}})
    expect(resolved).to.equal(path.join(project, 'db', 'data-source.js'))
  })

  it('falls back to "signalbus.dataSource" of the nearest package.json, relative to that package.json', async () => {
    const resolved = await resolveDataSourcePath(undefined, {cwd: deeper, env: {}})
    expect(resolved).to.equal(path.join(project, 'db', 'data-source.js'))
  })

  it('reads only the nearest package.json, not those further up', async () => {
    await writeFile(path.join(project, 'src', 'package.json'), JSON.stringify({name: 'inner'}))
    const error = await rejection(resolveDataSourcePath(undefined, {cwd: deeper, env: {}}))
    expect(error.message).to.include('No TypeORM data source file given')
  })

  it('says how to give a data source file when none is given', async () => {
    const error = await rejection(resolveDataSourcePath(undefined, {cwd: root, env: {}}))
    expect(error.message).to.include('-d, --data-source')
    expect(error.message).to.include('SIGNALBUS_DATA_SOURCE')
    expect(error.message).to.include('"signalbus": {"dataSource"')
  })

  it('rejects a file that does not exist, naming its absolute path', async () => {
    const error = await rejection(resolveDataSourcePath('missing.ts', {cwd: deeper, env: {}}))
    expect(error.message).to.equal(`Data source file "${path.join(deeper, 'missing.ts')}" does not exist.`)
  })

  it('rejects a package.json path that does not exist, naming it', async () => {
    await rm(path.join(project, 'db', 'data-source.js'))
    const error = await rejection(resolveDataSourcePath(undefined, {cwd: deeper, env: {}}))
    expect(error.message).to.equal(`Data source file "${path.join(project, 'db', 'data-source.js')}" does not exist.`)
  })

  it('rejects a "signalbus.dataSource" that is not a string', async () => {
    await writeFile(path.join(project, 'package.json'), JSON.stringify({signalbus: {dataSource: 42}}))
    const error = await rejection(resolveDataSourcePath(undefined, {cwd: deeper, env: {}}))
    expect(error.message).to.include('"signalbus.dataSource"')
  })
})
