/** An ISO time `h` hours from now (negative for the past). */
export const hoursFromNow = (h: number): string =>
  new Date(Date.now() + h * 3600_000).toISOString();

/** A valid red imminent landslide warning for the test village's hazard point HP-1. */
export function imminentWarning(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'imminent',
    level: 'red',
    hazard: 'landslide',
    headline: '渔子溪村滑坡临灾预警',
    description: '渔子溪滑坡隐患点出现裂缝扩大，预计两小时内可能发生滑坡。',
    instruction: '立即撤离至渔子溪小学避险点',
    hazardPoints: ['HP-1'],
    areas: ['513221001001'],
    effective: hoursFromNow(0),
    onset: hoursFromNow(2),
    expires: hoursFromNow(24),
    extent: '隐患点下方200米范围',
    impact: { people: 12, households: 4 },
    shelter: '渔子溪小学',
    ...overrides,
  };
}

/** A valid orange meteorological-risk warning to everyone of the test village. */
export function riskWarning(overrides: Record<string, unknown> = {}) {
  return {
    kind: 'meteorological_risk',
    level: 'orange',
    hazard: 'landslide',
    headline: '渔子溪村地质灾害气象风险橙色预警',
    description: '受强降雨影响，渔子溪村地质灾害风险高。',
    instruction: '请立即检查隐患点，做好转移准备',
    areas: ['513221001001'],
    audience: ['resident', 'grid_leader', 'village_responsible'],
    effective: hoursFromNow(0),
    expires: hoursFromNow(24),
    ...overrides,
  };
}
