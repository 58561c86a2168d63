// Where the repository and the compiled test tree are, seen from a compiled test file: test-dist/test/helpers/paths.js,
// or test-dist-typeorm-0.3/test/helpers/paths.js in the copy that runs the same tests on typeorm 0.3.
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const testTreeRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const repoRoot = resolve(testTreeRoot, '..')
