/**
 * `sim plot`: charts of a results folder (plot.ts), the spec builders behind them (charts.ts) and
 * the typed reader of the folder's tables (read-results.ts).
 */
export * from './read-results.js'
export * from './charts.js'
export * from './plot.js'
