/** Every fault scenario, in the order the suite runs them: add a scenario here (one file each). */
import { blackHoles } from './black-holes.ts'
import { churn } from './churn.ts'
import { corruptLiars } from './corrupt-liars.ts'
import { relayKilled } from './relay-killed.ts'
import type { FaultScenario } from './types.ts'

export const FAULT_SCENARIOS: FaultScenario[] = [corruptLiars, blackHoles, churn, relayKilled]
