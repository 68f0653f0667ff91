/**
 * `ionet-p2p submit job.yaml`: a job described in a file (YAML, or JSON), with the same model as
 * the command line. Every key of the file is one of `submit`'s own job options by its long name
 * (`image`, `input`, `gpu`, `max-price`, …), and its value goes through that option's own parser,
 * so a file and flags accept exactly the same things and say the same things when wrong; only
 * `command` is the file's own (the argv after `--`). Flags given on the command line override the
 * file. Paths in the file (`wasm`, `image-archive`, `out`, `input`) are relative to the file's directory.
 */
import { readFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Command, Option } from 'commander'
import { IonetError, IonetErrorCode } from '../errors.js'
import { parseInput } from './parse.js'

/** Keys whose values are paths, relative to the job file. */
const PATH_KEYS = new Set(['wasm', 'image-archive', 'out'])
/** Keys that take a list (repeatable flags). */
const LIST_KEYS = new Set(['input', 'env'])

export function isJobFile (args: string[]): boolean {
  return args.length === 1 && /\.(ya?ml|json)$/i.test(args[0] as string)
}

/**
 * Reads the job file into the command's options (those not given on the command line), and
 * returns the job's command. `jobOptions` are the long names a file may use.
 */
export async function applyJobFile (path: string, cmd: Command, jobOptions: ReadonlySet<string>): Promise<string[]> {
  const file = resolve(path)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `job file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`)
  }
  let data: unknown
  try {
    // yaml loads with a job file, not with every command.
    data = /\.json$/i.test(file) ? JSON.parse(text) : (await import('yaml')).parse(text)
  } catch (err) {
    throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `job file ${path} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0] as string}`)
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `job file ${path}: expected a mapping of option names to values`)
  const fail = (key: string, problem: string): never => { throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `job file ${path}: ${key}: ${problem}`) }
  const base = dirname(file)
  let command: string[] = []
  for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
    if (key === 'command') {
      if (!Array.isArray(value) || value.some(v => typeof v !== 'string')) fail(key, 'expected a list of strings (argv, program first)')
      command = value as string[]
      continue
    }
    const option = jobOptions.has(key) ? cmd.options.find(o => o.long === `--${key}`) : undefined
    if (option === undefined) fail(key, `not a job option (known: command, ${[...jobOptions].sort().join(', ')})`)
    const o = option as Option
    const attribute = o.attributeName()
    // The command line wins over the file.
    if (cmd.getOptionValueSource(attribute) === 'cli') continue
    const takesValue = o.flags.includes('<')
    if (!takesValue) {
      if (typeof value !== 'boolean') fail(key, 'expected true or false')
      cmd.setOptionValueWithSource(attribute, o.negate ? !(value as boolean) : value, 'config')
      continue
    }
    const values = key === 'env' && value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.entries(value as Record<string, unknown>).map(([n, v]) => `${n}=${scalar(key, v, fail)}`)
      : (Array.isArray(value) ? value : [value]).map(v => scalar(key, v, fail))
    if (values.length > 1 && !LIST_KEYS.has(key)) fail(key, 'expected one value')
    let parsed: unknown
    for (const raw of values) {
      const v = PATH_KEYS.has(key) ? resolve(base, raw) : key === 'input' ? relativeInput(base, raw) : raw
      try {
        parsed = o.parseArg !== undefined ? o.parseArg(v, parsed as never) : v
      } catch (err) {
        // The option's own message, which names the flag: name the file's key instead.
        fail(key, (err as Error).message.replace(new RegExp(`^--${key}:? ?`), ''))
      }
    }
    cmd.setOptionValueWithSource(attribute, parsed, 'config')
  }
  return command
}

function scalar (key: string, v: unknown, fail: (key: string, problem: string) => never): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'bigint') return String(v)
  return fail(key, `expected a string or a number, not ${v === null ? 'null' : typeof v}`)
}

/** `name=path` or `path` (read as --input reads it), with the path made absolute against the job file's directory. */
function relativeInput (base: string, raw: string): string {
  const { name, path } = parseInput(raw)
  return `${name}=${resolve(base, path)}`
}
