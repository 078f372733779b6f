// Hook for the two-server cluster scenario: clients split over two linked
// servers, deliveries counted across the link. Not implemented yet; reported
// as skipped rather than faked.

import type { ScenarioResult } from '../result.ts';
import { notRun } from '../result.ts';
import type { Ctx } from './common.ts';

export async function clusterScenario(ctx: Ctx): Promise<ScenarioResult> {
  return notRun('cluster', ctx.target.label, 'skipped', 'not implemented yet: the server has no cluster mode to start');
}
