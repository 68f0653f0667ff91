/**
 * `node:http`, taken without an ES-module import.
 *
 * Importing a built-in from an ES module makes Node build a facade of it that reads every one of
 * its exports, and `node:http`'s include lazy getters (`WebSocket`, `CloseEvent`, `MessageEvent`)
 * that load undici: about 38 ms of a daemon's ~300 ms start, for a client the daemon never uses
 * (measured with a CPU profile of `ionet-p2p start` up to `node:started`). The module itself,
 * as `process.getBuiltinModule` returns it, has no facade, and reading only the functions we use
 * leaves those getters untouched. Types still come from `node:http` (`import type` loads nothing).
 */
import type * as Http from 'node:http'

const http = process.getBuiltinModule('node:http') as typeof Http

export const createServer: typeof Http.createServer = http.createServer
export const request: typeof Http.request = http.request
