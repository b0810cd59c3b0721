import {
  DEFAULT_KIND_WEIGHTS,
  PersonDirectory,
  presetProfile,
  profileFor,
  type PersonKind,
} from './person-profiles';

describe('person profiles', () => {
  const numbers = Array.from({ length: 4000 }, (_, i) => `+86138${String(i).padStart(8, '0')}`);

  it('gives the same number the same person for the same seed, and may differ for another seed', () => {
    expect(profileFor('+8613800000001', 1)).toEqual(profileFor('+8613800000001', 1));
    const differs = numbers
      .slice(0, 50)
      .some((n) => profileFor(n, 1).kind !== profileFor(n, 2).kind);
    expect(differs).toBe(true);
  });

  it('draws kinds in the documented proportions', () => {
    const counts = new Map<PersonKind | 'custom', number>();
    for (const n of numbers) {
      const kind = profileFor(n, 3).kind;
      counts.set(kind, (counts.get(kind) ?? 0) + 1);
    }
    for (const [kind, weight] of Object.entries(DEFAULT_KIND_WEIGHTS)) {
      const share = (counts.get(kind as PersonKind) ?? 0) / numbers.length;
      expect(Math.abs(share - weight)).toBeLessThan(0.03);
    }
  });

  it('keeps derived timings within realistic ranges and consistent with the kind', () => {
    for (const n of numbers.slice(0, 500)) {
      const p = profileFor(n, 5);
      expect(p.voice.ringMs).toBeGreaterThanOrEqual(500);
      expect(p.voice.ringMs).toBeLessThanOrEqual(20_000);
      expect(p.voice.keyAfterMs).toBeGreaterThanOrEqual(2_000);
      if (p.kind === 'confirms') {
        expect(p.voice.key).toBe('1');
        expect(['1', '收到']).toContain(p.sms.reply);
      }
      if (p.kind === 'needs-help') expect(p.voice.key).toBe('2');
      if (p.kind === 'dead') {
        expect(p.voice.outcome).toBe('failed');
        expect(p.sms).toMatchObject({ outcome: 'undelivered', errorCode: 30005 });
      }
      if (p.kind === 'hangs-up-early') expect(p.voice.hangUpAfterMs).toBeLessThanOrEqual(6_000);
      else expect(p.voice.hangUpAfterMs).toBeNull();
    }
  });

  it('lets a test override a number with a preset kind or a full profile', () => {
    const people = new PersonDirectory(1);
    people.set('+8613800000001', 'busy');
    expect(people.get('+8613800000001').voice.outcome).toBe('busy');
    const custom = presetProfile('confirms', { voice: { key: '9', keyAfterMs: 10 } });
    people.set('+8613800000002', custom);
    custom.voice.key = '0'; // the directory keeps its own copy
    expect(people.get('+8613800000002').voice).toMatchObject({
      key: '9',
      keyAfterMs: 10,
      outcome: 'answers',
    });
    people.clear('+8613800000002');
    expect(people.get('+8613800000002')).toEqual(profileFor('+8613800000002', 1));
  });
});
