/**
 * Finding the emulation's node hosts from a test: children of the process running the engine.
 * The jobs their nodes run are found by their working directory (helpers/processes.ts).
 */
import { commandLine, parentOf, pids, running } from '../helpers/processes.js'

export { awaitGone, describeProcess, workingUnder } from '../helpers/processes.js'

/** The running node hosts whose parent is `ppid`. */
export function hostsOf (ppid: number): number[] {
  return pids().filter(pid => parentOf(pid) === ppid && commandLine(pid).includes('emulation-host') && running(pid))
}
