import type { ImportRecord } from '../import/import.types';
import { HAZARD_NAMES_ZH, type HazardType } from '../../../common/domain/warning.types';
import type { CountyPlan, GridPlan } from './county-plan';
import { centreOf, SITE_SPOTS } from './place-names';
import { SeededRandom } from './seeded-random';

/** A hazard point or risk zone, before its responsible persons are known. */
export interface SitePlan {
  code: string;
  name: string;
  hazard: HazardType;
  division: string;
  latitude: number;
  longitude: number;
  grids: GridPlan[];
  /** External ids of the threatened residents. */
  threatened: string[];
  /** The roster's declared figure: at least the linked residents. */
  declaredPeople: number;
  /** External ids, filled in once the officials exist. */
  responsible: string[];
}

/** The group monitor (群测群防员) watching a hazard point, from the point's first grid. */
export interface SiteMonitor {
  id: string;
  grid: GridPlan;
  site: SitePlan;
}

type SiteHazard = Exclude<HazardType, 'rainstorm' | 'geological_composite' | 'flash_flood'>;

const SITE_HAZARDS: Readonly<Record<SiteHazard, number>> = {
  landslide: 50,
  collapse: 25,
  debris_flow: 15,
  ground_subsidence: 5,
  ground_fissure: 5,
};

/** Residents are numbered within their grid: `<grid code>-0001`. */
export function residentId(grid: GridPlan, index: number): string {
  return `${grid.code}-${String(index + 1).padStart(4, '0')}`;
}

/**
 * Hazard points (0–3 per village) and risk zones (about one per six villages of a township), each
 * touching one or two grids and threatening a run of their residents.
 */
export function planSites(plan: CountyPlan): {
  hazardPoints: SitePlan[];
  riskZones: SitePlan[];
  monitors: SiteMonitor[];
} {
  const { seed, countyCode } = plan.options;
  const [centreLat, centreLng] = centreOf(countyCode);
  const round = (x: number) => Math.round(x * 1e5) / 1e5;
  const place = (rng: SeededRandom) => ({
    latitude: round(centreLat + (rng.next() - 0.5) * 0.5),
    longitude: round(centreLng + (rng.next() - 0.5) * 0.5),
  });
  const threatenedIn = (rng: SeededRandom, grid: GridPlan): string[] => {
    if (grid.residents === 0) return [];
    const count = Math.min(grid.residents, rng.int(5, 40));
    const start = rng.int(0, grid.residents - count);
    return Array.from({ length: count }, (_, i) => residentId(grid, start + i));
  };
  const hazardOf = (rng: SeededRandom) => rng.weighted(SITE_HAZARDS);

  const hazardPoints: SitePlan[] = [];
  const monitors: SiteMonitor[] = [];
  const monitorsInGrid = new Map<string, number>();
  for (const village of plan.villages) {
    const rng = new SeededRandom(seed, 'hazard-points', village.code);
    const count = Number(rng.weighted({ 0: 35, 1: 45, 2: 15, 3: 5 }));
    for (let k = 1; k <= count; k++) {
      const hazard = hazardOf(rng);
      const grids = [rng.pick(village.grids)];
      const other = village.grids.find((g) => g !== grids[0]);
      if (other && rng.chance(0.2)) grids.push(other);
      const threatened = grids.flatMap((g) => threatenedIn(rng, g));
      const site: SitePlan = {
        code: `HP${village.code}${String(k).padStart(2, '0')}`,
        name: `${village.name}${rng.pick(SITE_SPOTS)}${HAZARD_NAMES_ZH[hazard]}`,
        hazard,
        division: village.code,
        ...place(rng),
        grids,
        threatened,
        declaredPeople: threatened.length + rng.int(0, 10),
        responsible: [],
      };
      hazardPoints.push(site);
      const n = (monitorsInGrid.get(grids[0].code) ?? 0) + 1;
      monitorsInGrid.set(grids[0].code, n);
      monitors.push({ id: `${grids[0].code}-QC${n}`, grid: grids[0], site });
    }
  }

  const riskZones: SitePlan[] = [];
  for (const township of plan.townships) {
    const rng = new SeededRandom(seed, 'risk-zones', township.code);
    const count = Math.max(1, Math.round(township.villages.length / 6));
    for (let k = 1; k <= count; k++) {
      const first = rng.int(0, township.villages.length - 1);
      const villages = [township.villages[first]];
      const next = township.villages[first + 1];
      if (next && rng.chance(0.4)) villages.push(next);
      const grids = villages.map((v) => rng.pick(v.grids));
      const hazard = hazardOf(rng);
      const threatened = grids.flatMap((g) => threatenedIn(rng, g));
      riskZones.push({
        code: `RZ${township.code}${String(k).padStart(2, '0')}`,
        name: `${township.name}${villages.map((v) => v.name).join('')}${HAZARD_NAMES_ZH[hazard]}高风险区`,
        hazard,
        division: villages.length === 1 ? villages[0].code : township.code,
        ...place(rng),
        grids,
        threatened,
        declaredPeople: threatened.length + rng.int(0, 30),
        responsible: [],
      });
    }
  }
  return { hazardPoints, riskZones, monitors };
}

export function siteRecord(s: SitePlan): ImportRecord {
  return {
    code: s.code,
    name: s.name,
    hazard: s.hazard,
    division: s.division,
    latitude: s.latitude,
    longitude: s.longitude,
    threatened_people: s.declaredPeople,
    threatened_households: Math.ceil(s.declaredPeople / 3.2),
    grids: s.grids.map((g) => g.code).join(';'),
    threatened: s.threatened.join(';'),
    responsible: s.responsible.join(';'),
  };
}
