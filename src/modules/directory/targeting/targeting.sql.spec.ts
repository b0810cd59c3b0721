import { AppException } from '../../../common/errors/app.exception';
import { buildTargetFilter, normalizeTargetQuery } from './targeting.sql';

describe('targeting SQL', () => {
  const norm = (areas: string[], extra: Partial<Parameters<typeof normalizeTargetQuery>[0]> = {}) =>
    normalizeTargetQuery({ areas, hazardPoints: [], riskZones: [], ...extra });

  it('drops duplicate areas and areas covered by an ancestor in the list', () => {
    expect(
      norm(['513221001001', '513221', '513221001', '5133', '513221', '513301001001']).areas,
    ).toEqual(['513221', '5133']);
    // Siblings sharing a long prefix are not ancestors of each other.
    expect(norm(['513221001010', '513221001001', '513221010', '513221001']).areas).toEqual([
      '513221001',
      '513221010',
    ]);
  });

  it('rejects malformed area codes', () => {
    for (const code of ['', '5', '5132210', '5132210010', '51a2', ' 51', '513221001001 1']) {
      expect(() => norm([code])).toThrow(AppException);
    }
  });

  it('splits grid codes (a village code and the grid’s number) out of the areas', () => {
    const q = norm(['513221', '513221001001001', '513221001001001', '513221001001G2']);
    expect(q.areas).toEqual(['513221']);
    expect(q.grids).toEqual(['513221001001001', '513221001001G2']);
    const filter = buildTargetFilter(q);
    expect(filter.where).toContain('p.grid_code = ANY ($3::varchar[])');
    expect(filter.params[2]).toEqual(['513221001001001', '513221001001G2']);
  });

  it('treats an empty role list as no filter', () => {
    expect(norm(['51'], { roles: [] }).roles).toBeUndefined();
    expect(norm(['51'], { roles: ['resident', 'resident'] }).roles).toEqual(['resident']);
  });

  it('builds one range per area, [code, code:)', () => {
    const filter = buildTargetFilter(norm(['513221001', '513221010'], { roles: ['grid_leader'] }));
    expect(filter.params).toEqual([
      '513221001',
      '513221001:',
      '513221010',
      '513221010:',
      ['grid_leader'],
    ]);
    expect(filter.where).toContain('p.division_code >= $1 AND p.division_code < $2');
    expect(filter.where).toContain('p.role = ANY ($5::text[])');
  });

  it('has no target when the query is empty', () => {
    expect(buildTargetFilter(norm([]))).toEqual({ where: 'false', params: [], hasTargets: false });
  });
});
