// tsconfig `paths` and `baseUrl` at run time: the files a non-relative import may name (`src/signals/queues`,
// `@app/config`), in TypeScript's order; the module loaders try each and fall back to ordinary resolution.
import path from 'node:path'
import type {TsProject} from './tsconfig.js'

/** Absolute candidate paths (extensions not yet probed) for `specifier`, or none when it is not an alias. */
export function aliasCandidates(project: Pick<TsProject, 'baseUrl' | 'paths'>, specifier: string): string[] {
  if (isRelativeOrAbsolute(specifier) || specifier.startsWith('node:') || specifier.includes(':')) return []
  const candidates: string[] = []
  for (const alias of project.paths) {
    const captured = match(alias.pattern, specifier)
    if (captured === undefined) continue
    for (const target of alias.targets) candidates.push(target.replace('*', captured))
    break // TypeScript uses the most specific matching pattern only.
  }
  if (project.baseUrl !== undefined) candidates.push(path.resolve(project.baseUrl, specifier))
  return candidates
}

/** What `*` stands for when `specifier` matches `pattern`, '' for an exact pattern; undefined when it does not match. */
function match(pattern: string, specifier: string): string | undefined {
  const star = pattern.indexOf('*')
  if (star === -1) return pattern === specifier ? '' : undefined
  const prefix = pattern.slice(0, star)
  const suffix = pattern.slice(star + 1)
  if (specifier.length < prefix.length + suffix.length) return undefined
  if (!specifier.startsWith(prefix) || !specifier.endsWith(suffix)) return undefined
  return specifier.slice(prefix.length, specifier.length - suffix.length)
}

function isRelativeOrAbsolute(specifier: string): boolean {
  return specifier.startsWith('./') || specifier.startsWith('../') || specifier === '.' || specifier === '..' || path.isAbsolute(specifier)
}

/** Imported modules in node_modules keep their own resolution: aliases are the app's. */
export function isInNodeModules(file: string | undefined): boolean {
  return file !== undefined && file.split(/[\\/]/).includes('node_modules')
}
