/**
 * 险情分级 by the number of people to relocate (受威胁需转移人数). Each boundary belongs to the
 * grade above it:
 * - 特大型: 1000 or more
 * - 大型: 500 to 999 (500 is 大型, 1000 is 特大型)
 * - 中型: 100 to 499 (100 is 中型, 500 is 大型)
 * - 小型: fewer than 100 (0 to 99)
 */
export const HAZARD_GRADES = ['特大型', '大型', '中型', '小型'] as const;
export type HazardGrade = (typeof HAZARD_GRADES)[number];

export function gradeOf(peopleThreatened: number): HazardGrade {
  if (peopleThreatened >= 1000) return '特大型';
  if (peopleThreatened >= 500) return '大型';
  if (peopleThreatened >= 100) return '中型';
  return '小型';
}

/** 特大型 and 大型 reports must reach the city level within one hour. */
export function mustReachCity(grade: HazardGrade): boolean {
  return grade === '特大型' || grade === '大型';
}

/** How long a report that must reach the city has to be acknowledged there. */
export const CITY_DEADLINE_MS = 3600_000;

/** A positive number of the variable, its default when unset; a bad value names the variable. */
function positiveEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min)
    throw new Error(`${name} must be a number of at least ${min}; got "${raw}"`);
  return n;
}

/**
 * Seconds after the report at which an unacknowledged report is escalated and flagged (45 of the
 * 60 minutes): HAZARD_REPORT_ESCALATE_AFTER_SECONDS, default 2700.
 */
export function escalateAfterSeconds(env: NodeJS.ProcessEnv = process.env): number {
  return positiveEnv(env, 'HAZARD_REPORT_ESCALATE_AFTER_SECONDS', 45 * 60, 1);
}

/**
 * How often the hazard-reports worker's sweep rebuilds lost jobs from Postgres (deadline timers,
 * notices): HAZARD_REPORT_SWEEP_MS, default 5000.
 */
export function sweepIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  return positiveEnv(env, 'HAZARD_REPORT_SWEEP_MS', 5000, 100);
}

/**
 * The report's 叫应 chain: seconds each step waits for the duty office's acknowledgement before
 * the next one texts and calls it again (HAZARD_REPORT_STEP_SECONDS, default 600).
 */
export function reportStepSeconds(env: NodeJS.ProcessEnv = process.env): number {
  return positiveEnv(env, 'HAZARD_REPORT_STEP_SECONDS', 600, 1);
}

/** How many steps the report's chain has at most, the first included (HAZARD_REPORT_STEPS, default 6). */
export function reportSteps(env: NodeJS.ProcessEnv = process.env): number {
  return Math.floor(positiveEnv(env, 'HAZARD_REPORT_STEPS', 6, 1));
}
