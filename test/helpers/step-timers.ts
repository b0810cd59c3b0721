import type { Job, Queue } from 'bullmq';
import { stepTimerJobId, type StepTimerJob } from '../../src/common/queue/queue-names';

const STATES = ['delayed', 'waiting', 'prioritized', 'active', 'completed', 'failed'] as const;

/** The step timer jobs of a warning (every state), optionally of one step. */
export async function stepTimerJobs(
  queue: Queue,
  warningId: string,
  step?: number,
): Promise<Job<StepTimerJob>[]> {
  const jobs = (await queue.getJobs([...STATES])) as (Job<StepTimerJob> | undefined)[];
  return jobs.filter(
    (j): j is Job<StepTimerJob> =>
      !!j &&
      j.data.type === 'steps' &&
      j.data.warningId === warningId &&
      (step === undefined || j.data.step === step),
  );
}

/** The id of the step timer a delivery due at `dueAt` waits for. */
export function stepJobIdFor(warningId: string, version: number, step: number, dueAt: Date) {
  return stepTimerJobId({
    warningId,
    version,
    step,
    second: Math.floor(new Date(dueAt).getTime() / 1000),
  });
}
