import { checkPhone } from '../phone';
import { normaliseContact } from '../import/validators/contact-value';
import type { ContactKind } from '../../../common/domain/directory.types';
import type { ImportRecord } from '../import/import.types';
import { generateCounty } from './county-generator';

function everything(opts: Parameters<typeof generateCounty>[0]) {
  const county = generateCounty(opts);
  const residents = [...county.residents(700)].flat();
  return { county, residents };
}

describe('generateCounty', () => {
  const { county, residents } = everything({ countyCode: '513221', residents: 3000, seed: 1 });

  it('is deterministic for a seed and differs for another seed', () => {
    const again = everything({ countyCode: '513221', residents: 3000, seed: 1 });
    const other = everything({ countyCode: '513221', residents: 3000, seed: 2 });
    const data = (x: typeof again) => ({ ...x.county, residents: x.residents, plan: undefined });
    expect(data(again)).toEqual(data({ county, residents }));
    expect(JSON.stringify(data(other))).not.toEqual(JSON.stringify(data({ county, residents })));
    expect(other.residents.map((r) => r.name)).not.toEqual(residents.map((r) => r.name));
  });

  it('streams the same residents whatever the chunk size', () => {
    const inOne = [...county.residents(1_000_000)];
    expect(inOne).toHaveLength(1);
    expect(inOne[0]).toEqual(residents);
    expect([...county.residents(1000)].map((c) => c.length)).toEqual([1000, 1000, 1000]);
  });

  it('builds the division tree from the county code', () => {
    const codes = county.divisions.map((d) => String(d.code));
    expect(county.divisions.slice(0, 3)).toEqual([
      { code: '51', name: '四川省' },
      { code: '5132', name: '阿坝藏族羌族自治州' },
      { code: '513221', name: '汶川县' },
    ]);
    const townships = codes.filter((c) => c.length === 9);
    const villages = codes.filter((c) => c.length === 12);
    expect(townships.length).toBe(county.counts.townships);
    expect(villages.length).toBe(county.counts.villages);
    for (const v of villages) expect(townships).toContain(v.slice(0, 9));
    for (const d of county.divisions.slice(3))
      expect(String(d.name)).toMatch(/(镇|乡|街道|村|社区)$/);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('puts grids under villages, named 第N网格, with about 150 residents each', () => {
    const villages = new Set(
      county.divisions.map((d) => String(d.code)).filter((c) => c.length === 12),
    );
    for (const g of county.grids) {
      expect(villages.has(String(g.village))).toBe(true);
      expect(String(g.code)).toMatch(new RegExp(`^${g.village}\\d{3}$`));
      expect(String(g.name)).toMatch(/第\d+网格$/);
    }
    expect(county.grids.length).toBe(Math.ceil(3000 / 150));
    expect(residents).toHaveLength(3000);
    expect(new Set(residents.map((r) => r.id)).size).toBe(3000);
  });

  it('gives every official a supervisor chain that ends at the county duty officer', () => {
    const byId = new Map(county.officials.map((o) => [String(o.id), o]));
    for (const official of county.officials) {
      let cursor: ImportRecord | undefined = official;
      const seen = new Set<string>();
      while (cursor?.supervisor) {
        expect(seen.has(String(cursor.id))).toBe(false);
        seen.add(String(cursor.id));
        cursor = byId.get(String(cursor.supervisor));
      }
      expect(cursor?.id).toBe(county.dutyOfficerId);
    }
    expect(byId.get(county.dutyOfficerId)?.role).toBe('duty_officer');
    const roles = new Set(county.officials.map((o) => o.role));
    for (const role of [
      'county_responsible',
      'technical_manager',
      'township_responsible',
      'village_responsible',
      'grid_leader',
      'grid_member',
      'group_monitor',
      'area_lead',
      'resident_geologist',
    ]) {
      expect(roles).toContain(role);
    }
  });

  it('writes contact values the import accepts, and distinct mobile numbers', () => {
    const mobiles = new Set<string>();
    for (const c of county.contacts) {
      const check = normaliseContact(c.kind as ContactKind, String(c.value));
      expect(check).toMatchObject({ ok: true });
      if (c.kind === 'mobile' && check.ok) mobiles.add(check.value);
    }
    for (const r of residents) {
      const mobile = checkPhone(String(r.mobile), 'mobile');
      expect(mobile.ok).toBe(true);
      if (mobile.ok) mobiles.add(mobile.e164);
      if (r.landline) expect(checkPhone(String(r.landline), 'landline').ok).toBe(true);
      if (r.email) expect(normaliseContact('email', String(r.email)).ok).toBe(true);
    }
    expect(mobiles.size).toBe(county.counts.officials + residents.length);
    expect(county.contacts.some((c) => c.kind === 'satellite')).toBe(true);
    expect(residents.some((r) => r.landline)).toBe(true);
    expect(residents.some((r) => r.email)).toBe(true);
  });

  it('links hazard sites to existing grids, residents and officials', () => {
    const grids = new Set(county.grids.map((g) => String(g.code)));
    const people = new Set([...county.officials, ...residents].map((p) => String(p.id)));
    const sites = [...county.hazardPoints, ...county.riskZones];
    expect(county.hazardPoints.length).toBeGreaterThan(0);
    expect(county.riskZones.length).toBeGreaterThan(0);
    for (const s of sites) {
      for (const g of String(s.grids).split(';')) expect(grids.has(g)).toBe(true);
      const threatened = String(s.threatened).split(';').filter(Boolean);
      for (const id of [...threatened, ...String(s.responsible).split(';')])
        expect(people.has(id)).toBe(true);
      expect(Number(s.threatened_people)).toBeGreaterThanOrEqual(threatened.length);
    }
  });

  it('mixes robot platforms, with secrets where the platform signs', () => {
    const platforms = new Set(county.robots.map((r) => r.platform));
    expect(platforms.size).toBeGreaterThan(1);
    for (const r of county.robots) expect(r.secret === null).toBe(r.platform === 'wecom');
    expect(county.broadcastTerminals.length).toBeGreaterThanOrEqual(county.counts.villages);
  });

  it('scales: a million residents plan about 6 700 grids without generating them', () => {
    const big = generateCounty({ countyCode: '513221', residents: 1_000_000, seed: 1 });
    expect(big.counts.grids).toBe(6667);
    expect(big.counts.villages).toBeGreaterThan(1000);
    expect(big.counts.townships).toBeGreaterThan(100);
  });

  it('handles other counties and tiny ones', () => {
    const other = generateCounty({ countyCode: '621223', residents: 0, seed: 3 });
    expect(other.divisions[0]).toEqual({ code: '62', name: '甘肃省' });
    expect(other.counts.townships).toBe(2);
    expect(other.counts.villages).toBe(4);
    expect([...other.residents()]).toEqual([]);
    const unknown = generateCounty({ countyCode: '371402', residents: 10 });
    expect(String(unknown.divisions[2].name)).toMatch(/县$/);
    for (const c of unknown.contacts) {
      expect(normaliseContact(c.kind as ContactKind, String(c.value)).ok).toBe(true);
    }
    expect(() => generateCounty({ countyCode: '5132', residents: 1 })).toThrow(/6-digit/);
  });
});
