/**
 * Reads a scenario file (JSON, or YAML by extension) and validates it. Every problem is reported
 * at once, each with the path of its field, in one line: a researcher fixes the file in one go.
 */
import { readFile } from 'node:fs/promises'
import { parse as parseYaml } from 'yaml'
import type { ZodError } from 'zod'
import { SimError, SimErrorCode } from '../errors.js'
import { builtinScenarios } from './builtin.js'
import { scenarioSchema } from './schema.js'
import type { Scenario } from './schema.js'

export async function loadScenario (path: string): Promise<Scenario> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new SimError(SimErrorCode.SCENARIO_UNREADABLE, code === 'ENOENT' ? `scenario file ${path} does not exist (built-in scenarios: ${builtinScenarios().join(', ')})` : `cannot read scenario file ${path}: ${(err as Error).message}`)
  }
  return parseScenario(text, path)
}

/** Parses scenario text; `name` (a path) picks the format: .yaml/.yml is YAML, anything else JSON. */
export function parseScenario (text: string, name = 'scenario.json'): Scenario {
  const yaml = /\.ya?ml$/i.test(name)
  let data: unknown
  try {
    data = yaml ? parseYaml(text) : JSON.parse(text)
  } catch (err) {
    throw new SimError(SimErrorCode.SCENARIO_UNREADABLE, `${name} is not valid ${yaml ? 'YAML' : 'JSON'}: ${firstLine((err as Error).message)}`)
  }
  return validateScenario(data, name)
}

export function validateScenario (data: unknown, name = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(data)
  if (!result.success) {
    const problems = describeIssues(result.error)
    throw new SimError(SimErrorCode.SCENARIO_INVALID, `${name} is not a valid scenario: ${problems.join('; ')}`, problems)
  }
  return result.data
}

function describeIssues (error: ZodError): string[] {
  return error.issues.map(issue => {
    const path = issue.path.map(p => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '')
    // zod says "Invalid input: expected object, received undefined" for a field left out.
    const message = issue.code === 'invalid_type' && /received undefined$/.test(issue.message) ? 'missing' : issue.message
    return `${path === '' ? '(top level)' : path}: ${message}`
  })
}

function firstLine (text: string): string {
  return text.split('\n')[0] ?? text
}
