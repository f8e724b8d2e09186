/** The plain result every fault scenario returns (the suite runner writes them to benchmarks/results/faults-<date>.*). */
export interface ScenarioResult {
  name: string
  /** What was run (counts, seed, sizes), for the report. */
  options: Record<string, unknown>
  visitors: { ok: number, total: number }
  /** Measured figures (bytes, ms, counts); units in the key's suffix. */
  figures: Record<string, unknown>
  /** The must-hold items for the scenario, each true when it held in this run. */
  holds: Record<string, boolean>
  /** Faults found (anything a must-hold item would not explain alone), in words. */
  notes: string[]
}
