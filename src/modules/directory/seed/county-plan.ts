import { knownName, placeName, provinceName } from './place-names';
import { SeededRandom } from './seeded-random';

export interface CountySeedOptions {
  /** 6-digit GB/T 2260 county code; its prefixes name the province and the city. */
  countyCode: string;
  residents: number;
  /** Same seed, same county. Default 1. */
  seed?: number;
  /** Average residents per grid (default 150). */
  residentsPerGrid?: number;
  /** Average grids per village (default 4). */
  gridsPerVillage?: number;
  /** Average villages per township (default 12). */
  villagesPerTownship?: number;
}

export type ResolvedSeedOptions = Required<CountySeedOptions>;

export interface GridPlan {
  code: string;
  name: string;
  /** 1-based number within the village (第N网格). */
  number: number;
  village: VillagePlan;
  residents: number;
  /** Index of the grid's first resident among all residents of the county. */
  firstResident: number;
}

export interface VillagePlan {
  code: string;
  name: string;
  /** 村 or 社区. */
  community: boolean;
  township: TownshipPlan;
  grids: GridPlan[];
}

export interface TownshipPlan {
  code: string;
  name: string;
  /** 镇, 乡 or 街道. */
  suffix: '镇' | '乡' | '街道';
  villages: VillagePlan[];
}

export interface CountyPlan {
  options: ResolvedSeedOptions;
  province: { code: string; name: string };
  city: { code: string; name: string };
  county: { code: string; name: string };
  townships: TownshipPlan[];
  villages: VillagePlan[];
  grids: GridPlan[];
}

/** Township codes: 001–099 街道, 100–199 镇, 200–299 乡. */
const MAX_TOWNSHIPS = 199;
/** Village codes: 001–199 communities (居委会), 200–999 villages (村委会). */
const MAX_VILLAGES_PER_TOWNSHIP = 799;

export function resolveSeedOptions(opts: CountySeedOptions): ResolvedSeedOptions {
  if (!/^\d{6}$/.test(opts.countyCode)) {
    throw new Error(`countyCode must be a 6-digit GB/T 2260 code, got ${opts.countyCode}`);
  }
  if (!Number.isInteger(opts.residents) || opts.residents < 0) {
    throw new Error(`residents must be a whole number ≥ 0, got ${opts.residents}`);
  }
  const resolved = {
    countyCode: opts.countyCode,
    residents: opts.residents,
    seed: opts.seed ?? 1,
    residentsPerGrid: opts.residentsPerGrid ?? 150,
    gridsPerVillage: opts.gridsPerVillage ?? 4,
    villagesPerTownship: opts.villagesPerTownship ?? 12,
  };
  for (const key of ['residentsPerGrid', 'gridsPerVillage', 'villagesPerTownship'] as const) {
    if (!(resolved[key] >= 1)) throw new Error(`${key} must be at least 1`);
  }
  return resolved;
}

/**
 * The county's shape: townships (9-digit codes), villages and communities (12), grids (village
 * code + 3 digits), and how many residents live in each grid. Sizes scale with the residents:
 * about residentsPerGrid per grid, gridsPerVillage per village, villagesPerTownship per
 * township, with at least 2 townships of 2 villages.
 */
export function planCounty(opts: CountySeedOptions): CountyPlan {
  const o = resolveSeedOptions(opts);
  const rng = new SeededRandom(o.seed, 'plan', o.countyCode);
  const gridTarget = Math.max(1, Math.ceil(o.residents / o.residentsPerGrid));
  const villageCount = Math.max(4, Math.ceil(gridTarget / o.gridsPerVillage));
  const townshipCount = Math.min(
    MAX_TOWNSHIPS,
    Math.max(2, Math.ceil(villageCount / o.villagesPerTownship)),
  );
  if (villageCount > townshipCount * MAX_VILLAGES_PER_TOWNSHIP) {
    throw new Error('too many villages for one county; raise gridsPerVillage or residentsPerGrid');
  }
  const villagesPer = rng.split(villageCount, townshipCount, 2);
  const gridCount = Math.max(gridTarget, villageCount);
  const gridsPer = rng.split(gridCount, villageCount, 1);
  const residentsPer = rng.split(o.residents, gridCount, 0);

  const provinceCode = o.countyCode.slice(0, 2);
  const cityCode = o.countyCode.slice(0, 4);
  const townshipNames = new Set<string>();
  const plan: CountyPlan = {
    options: o,
    province: { code: provinceCode, name: provinceName(provinceCode) },
    city: {
      code: cityCode,
      name: knownName(cityCode) ?? `${placeName(rng, new Set())}市`,
    },
    county: {
      code: o.countyCode,
      name: knownName(o.countyCode) ?? `${placeName(rng, new Set())}县`,
    },
    townships: [],
    villages: [],
    grids: [],
  };

  let towns = 0;
  let xiangs = 0;
  let nextVillage = 0;
  let nextGrid = 0;
  let firstResident = 0;
  for (let t = 0; t < townshipCount; t++) {
    const trng = new SeededRandom(o.seed, 'township', o.countyCode, t);
    // The county seat is a 街道 (sub-district); the rest are towns and, past 100 of them, 乡.
    const suffix =
      t === 0 ? '街道' : towns < 100 && (xiangs >= 99 || trng.chance(0.65)) ? '镇' : '乡';
    const local = suffix === '街道' ? 1 : suffix === '镇' ? 100 + towns++ : 200 + xiangs++;
    const township: TownshipPlan = {
      code: `${o.countyCode}${String(local).padStart(3, '0')}`,
      name: `${placeName(trng, townshipNames)}${suffix}`,
      suffix,
      villages: [],
    };
    plan.townships.push(township);

    const villageNames = new Set<string>();
    let communities = 0;
    let villages = 0;
    for (let v = 0; v < villagesPer[t]; v++) {
      // Sub-districts hold communities; a town's first "village" is often its seat community.
      const community = suffix === '街道' ? communities < 199 : v === 0 && trng.chance(0.3);
      const number = community ? 1 + communities++ : 200 + villages++;
      const village: VillagePlan = {
        code: `${township.code}${String(number).padStart(3, '0')}`,
        name: `${placeName(trng, villageNames)}${community ? '社区' : '村'}`,
        community,
        township,
        grids: [],
      };
      township.villages.push(village);
      plan.villages.push(village);

      const grids = gridsPer[nextVillage++];
      for (let g = 1; g <= grids; g++) {
        const residents = residentsPer[nextGrid++];
        const grid: GridPlan = {
          code: `${village.code}${String(g).padStart(3, '0')}`,
          name: `${village.name}第${g}网格`,
          number: g,
          village,
          residents,
          firstResident,
        };
        firstResident += residents;
        village.grids.push(grid);
        plan.grids.push(grid);
      }
    }
  }
  return plan;
}
