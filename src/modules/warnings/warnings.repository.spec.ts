import type { DataSource } from 'typeorm';
import { WarningsRepository } from './warnings.repository';

const WENCHUAN = { code: '513221', name: '汶川县' };
const LI = { code: '513222', name: '理县' };

/** One stored version row, as Postgres gives it (content as JSON, times as strings). */
const stored = () => ({
  id: 'v-1',
  warningId: 'w-1',
  version: 1,
  nationalId: '51322141600000020261207170000001',
  msgType: 'alert',
  level: 'red',
  audience: ['resident'],
  areas: ['513221'],
  hazardPoints: [],
  riskZones: [],
  sentAt: new Date('2026-12-07T09:00:00Z'),
  content: {
    msgType: 'alert',
    level: 'red',
    areas: [{ code: '513221', name: '汶川县' }],
    headline: '汶川县地质灾害气象风险红色预警',
    sentAt: '2026-12-07T09:00:00.000Z',
    effective: '2026-12-07T09:00:00.000Z',
    expires: '2026-12-08T09:00:00.000Z',
  },
});

describe('WarningsRepository versions', () => {
  let queries: number;
  let repo: WarningsRepository;

  beforeEach(() => {
    queries = 0;
    const query = () => {
      queries++;
      return Promise.resolve([stored()]);
    };
    repo = new WarningsRepository({ manager: { query } } as unknown as DataSource);
  });

  it('findVersion gives each caller its own copy, times revived, read once', async () => {
    const a = await repo.findVersion('w-1', 1);
    const b = await repo.findVersion('w-1', 1);
    expect(queries).toBe(1);
    expect(a).not.toBe(b);
    expect(a!.content).not.toBe(b!.content);
    expect(a!.content.expires).toEqual(new Date('2026-12-08T09:00:00Z'));
    a!.content.areas.push(LI);
    expect(b!.content.areas).toEqual([WENCHUAN]);
  });

  it('sharedVersion gives every caller the same frozen version, so what is rendered per version is rendered once', async () => {
    const a = await repo.sharedVersion('w-1', 1);
    const b = await repo.sharedVersion('w-1', 1);
    expect(queries).toBe(1);
    // Before (findVersion on the send path): a new content object for every send.
    expect(b).toBe(a);
    expect(b!.content).toBe(a!.content);
    expect(a!.content.effective).toEqual(new Date('2026-12-07T09:00:00Z'));
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a!.content)).toBe(true);
    expect(() => a!.content.areas.push(LI)).toThrow(TypeError);
    // findVersion's copies stay the callers' own.
    const own = await repo.findVersion('w-1', 1);
    own!.content.areas.push(LI);
    expect(a!.content.areas).toEqual([WENCHUAN]);
  });
});
