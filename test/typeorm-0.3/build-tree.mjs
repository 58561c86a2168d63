// Builds test-dist-typeorm-0.3/: a copy of the compiled tests (test-dist/) whose `typeorm` is the 0.3 release
// installed as the devDependency alias `typeorm-0.3`. Node resolves `typeorm` by walking up from the importing
// file, so the tests, their fixtures and the CLI children that load those fixtures all get 0.3, as a 0.3 app would.
import {cpSync, existsSync, mkdirSync, rmSync, symlinkSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const source = join(repoRoot, 'test-dist')
const tree = join(repoRoot, 'test-dist-typeorm-0.3')
const typeorm03 = join(repoRoot, 'node_modules', 'typeorm-0.3')

if (!existsSync(source)) throw new Error('test-dist/ is missing: compile the tests first (tsc -p tsconfig.test.json).')
if (!existsSync(join(typeorm03, 'package.json'))) throw new Error('node_modules/typeorm-0.3 is missing: run npm install.')

rmSync(tree, {recursive: true, force: true})
// A copy, not a symlink: Node resolves a module's imports from its real path, which must be inside the tree.
cpSync(source, tree, {recursive: true})
mkdirSync(join(tree, 'node_modules'))
symlinkSync(join('..', '..', 'node_modules', 'typeorm-0.3'), join(tree, 'node_modules', 'typeorm'), 'dir')
