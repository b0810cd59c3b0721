import { ConfigService } from '@nestjs/config';
import { AttemptBatches } from './attempt-batches';
import type { AttemptRow, DispatchRepository } from './dispatch.repository';
import type { SendMoves } from '../chain/send-moves.repository';

/** The repository and the chain's moves at the unit's boundary: they record the statements the batches make. */
function fakeRepo(claimable: Set<string>) {
  const calls = {
    find: [] as string[][],
    claim: [] as string[][],
    claims: [] as { id: string; token: string }[][],
    sent: [] as string[][],
  };
  const single: string[] = [];
  const repo = {
    findAttempts: async (ids: string[]) => {
      calls.find.push(ids);
      return ids.map((id) => ({ id }) as AttemptRow);
    },
    claimMany: async (claims: { id: string; token: string }[]) => {
      const ids = claims.map((c) => c.id);
      calls.claim.push(ids);
      calls.claims.push(claims);
      return new Set(ids.filter((id) => claimable.has(id)));
    },
    markSentMany: async (sends: { id: string; providerId: string }[]) => {
      calls.sent.push(sends.map((s) => s.id));
      if (sends.some((s) => s.providerId === 'SM-dup'))
        throw Object.assign(new Error('duplicate key'), { code: '23505' });
    },
    markSent: async (id: string, _provider: string, providerId: string) => {
      single.push(id);
      if (providerId === 'SM-dup')
        throw Object.assign(new Error('duplicate key'), { code: '23505' });
    },
  };
  return {
    repo: repo as unknown as DispatchRepository,
    moves: repo as unknown as SendMoves,
    calls,
    single,
  };
}

const config = (env: Record<string, unknown> = {}) =>
  ({ get: (k: string) => env[k] }) as unknown as ConfigService;

describe('AttemptBatches', () => {
  const ids = Array.from({ length: 120 }, (_, i) => `a${i}`);

  it('reads and claims the attempts of sends running side by side in one statement each', async () => {
    const { repo, moves, calls } = fakeRepo(new Set(ids));
    const batches = new AttemptBatches(repo, moves, config());
    const found = await Promise.all(ids.map((id) => batches.find(id)));
    expect(found.map((a) => a?.id)).toEqual(ids);
    const claimed = await Promise.all(ids.map((id) => batches.claim(id, `run-${id}`)));
    expect(claimed.every(Boolean)).toBe(true);
    expect(calls.find).toHaveLength(1);
    expect(calls.claim).toHaveLength(1);
    expect(calls.claim[0]).toHaveLength(120);
  });

  it('splits at SEND_BATCH_MAX', async () => {
    const { repo, moves, calls } = fakeRepo(new Set(ids));
    const batches = new AttemptBatches(repo, moves, config({ SEND_BATCH_MAX: 50 }));
    await Promise.all(ids.map((id) => batches.claim(id, `run-${id}`)));
    expect(calls.claim.map((c) => c.length)).toEqual([50, 50, 20]);
  });

  it('grants one claim when the same attempt is asked for twice in a batch, none when not claimable', async () => {
    const { repo, moves, calls } = fakeRepo(new Set(['a1']));
    const batches = new AttemptBatches(repo, moves, config());
    const [first, second, other] = await Promise.all([
      batches.claim('a1', 'run-1'),
      batches.claim('a1', 'run-2'),
      batches.claim('a2', 'run-3'),
    ]);
    expect([first, second, other]).toEqual([true, false, false]);
    // Only the first run's token is written: the run granted the claim is the run holding it.
    expect(calls.claims).toEqual([
      [
        { id: 'a1', token: 'run-1' },
        { id: 'a2', token: 'run-3' },
      ],
    ]);
  });

  it('records accepted sends together; one bad item fails only its own send', async () => {
    const { repo, moves, calls, single } = fakeRepo(new Set());
    const batches = new AttemptBatches(repo, moves, config());
    const results = await Promise.allSettled([
      batches.recordSent({ id: 'a1', provider: 'twilio', providerId: 'SM1' }),
      batches.recordSent({ id: 'a2', provider: 'twilio', providerId: 'SM-dup' }),
      batches.recordSent({ id: 'a3', provider: 'twilio', providerId: 'SM3' }),
    ]);
    expect(calls.sent).toEqual([['a1', 'a2', 'a3']]);
    expect(single.sort()).toEqual(['a1', 'a2', 'a3']);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: '23505' });
  });
});
