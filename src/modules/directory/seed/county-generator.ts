import type { PersonRole, RobotPlatform } from '../../../common/domain/directory.types';
import type { ImportKind, ImportRecord } from '../import/import.types';
import { ChineseNames } from './chinese-names';
import { equipCounty, ROBOT_ORIGINS } from './county-equipment';
import {
  type CountyPlan,
  type CountySeedOptions,
  planCounty,
  type TownshipPlan,
  type VillagePlan,
} from './county-plan';
import { planSites, residentId, siteRecord } from './county-sites';
import { PhoneBook } from './phone-book';
import { hashParts, SeededRandom } from './seeded-random';

export interface GenerateCountyOptions extends CountySeedOptions {
  /** Webhook origins for the robots (e.g. a sandbox); default the platforms' real hosts. */
  robotOrigins?: Partial<Record<RobotPlatform, string>>;
}

/**
 * A synthetic county as import records (the keys are the import columns). Everything but the
 * residents is held in memory; residents are streamed in chunks, so a county of a million
 * residents costs a chunk's memory at a time.
 *
 * Import order: divisions, grids, officials, contacts, residents, hazard-points, risk-zones,
 * robots, broadcast-terminals (each only refers to what comes before it).
 */
export interface GeneratedCounty {
  plan: CountyPlan;
  divisions: ImportRecord[];
  grids: ImportRecord[];
  /** Every person but the residents ('people'), without contact columns: see `contacts`. */
  officials: ImportRecord[];
  /** The officials' contact points ('contacts'). */
  contacts: ImportRecord[];
  /** Residents ('people', with mobile, landline and email columns), in chunks. */
  residents(chunkSize?: number): Generator<ImportRecord[]>;
  hazardPoints: ImportRecord[];
  riskZones: ImportRecord[];
  robots: ImportRecord[];
  broadcastTerminals: ImportRecord[];
  /** External id of the county duty officer, the top of every supervisor chain. */
  dutyOfficerId: string;
  counts: {
    townships: number;
    villages: number;
    grids: number;
    officials: number;
    residents: number;
    hazardPoints: number;
    riskZones: number;
    robots: number;
    broadcastTerminals: number;
  };
}

/** The import steps of a generated county, in an order where references already exist. */
export const SEED_STEPS: ReadonlyArray<{ kind: ImportKind; part: keyof GeneratedCounty }> = [
  { kind: 'divisions', part: 'divisions' },
  { kind: 'grids', part: 'grids' },
  { kind: 'people', part: 'officials' },
  { kind: 'contacts', part: 'contacts' },
  { kind: 'people', part: 'residents' },
  { kind: 'hazard-points', part: 'hazardPoints' },
  { kind: 'risk-zones', part: 'riskZones' },
  { kind: 'robots', part: 'robots' },
  { kind: 'broadcast-terminals', part: 'broadcastTerminals' },
];

/** Rosters are checked before the flood season (local rule: filed by 20 April). */
const ROSTER_MONTH = '2025-04';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

interface Official {
  record: ImportRecord;
  id: string;
  role: PersonRole;
  platform?: RobotPlatform;
}

/** Deterministic: the same options (seed included) give the same records, in the same order. */
export function generateCounty(opts: GenerateCountyOptions): GeneratedCounty {
  const plan = planCounty(opts);
  const { seed, countyCode } = plan.options;
  const phones = new PhoneBook(seed, countyCode);
  const names = ChineseNames.load();
  const nameOf = (id: string) => names.pick(new SeededRandom(seed, 'name', id));

  // Platform each township's groups use; officials there get an account on it.
  const platformOf = new Map<string, RobotPlatform>();
  const countyPlatform = new SeededRandom(seed, 'platform', countyCode).weighted({
    wecom: 45,
    dingtalk: 40,
    feishu: 15,
  });
  for (const t of plan.townships) {
    platformOf.set(
      t.code,
      new SeededRandom(seed, 'platform', t.code).weighted({ wecom: 45, dingtalk: 40, feishu: 15 }),
    );
  }

  // Sites first: they decide the group monitors and who is responsible for what.
  const { hazardPoints: hazardSites, riskZones, monitors } = planSites(plan);

  // ---- Officials, top down: each one's supervisor is already in the list.
  const officials: Official[] = [];
  const add = (
    id: string,
    role: PersonRole,
    division: string,
    supervisor: string | null,
    title: string,
    extra: { grid?: string; platform?: RobotPlatform } = {},
  ): string => {
    officials.push({
      id,
      role,
      platform: extra.platform,
      record: {
        id,
        name: nameOf(id),
        role,
        division,
        grid: extra.grid ?? null,
        supervisor,
        title,
      },
    });
    return id;
  };
  const county = plan.county;
  const dutyOfficer = add(
    `${county.code}-ZB01`,
    'duty_officer',
    county.code,
    null,
    `${county.name}应急管理局值班员`,
    { platform: countyPlatform },
  );
  const countyChief = add(
    `${county.code}-FZ01`,
    'county_responsible',
    county.code,
    dutyOfficer,
    `${county.name}人民政府副县长`,
    { platform: countyPlatform },
  );
  const techManager = add(
    `${county.code}-JS01`,
    'technical_manager',
    county.code,
    dutyOfficer,
    `${county.name}自然资源局地质灾害防治技术管理员`,
    { platform: countyPlatform },
  );

  // Resident geologists, each stationed in a few townships with hazard points.
  const geologistOf = new Map<string, string>();
  const geologistCount = Math.max(1, Math.ceil(hazardSites.length / 25));
  plan.townships.forEach((t, i) => {
    const n = (i % geologistCount) + 1;
    const id = `${county.code}-DZ${String(n).padStart(2, '0')}`;
    if (n === i + 1)
      add(id, 'resident_geologist', t.code, techManager, `驻${county.name}地质队员（${t.name}片）`);
    geologistOf.set(t.code, id);
  });

  const townshipChief = new Map<string, string>();
  const villageChief = new Map<string, string>();
  const gridLeader = new Map<string, string>();
  const areaLeads = new Map<string, string[]>();
  const chiefTitle = (t: TownshipPlan) =>
    t.suffix === '街道' ? `${t.name}办事处主任` : `${t.name}${t.suffix === '镇' ? '镇长' : '乡长'}`;
  for (const t of plan.townships) {
    const platform = platformOf.get(t.code);
    const chief = add(`${t.code}-FZ`, 'township_responsible', t.code, countyChief, chiefTitle(t), {
      platform,
    });
    townshipChief.set(t.code, chief);
    const leads: string[] = [];
    for (let k = 1; k <= Math.max(1, Math.ceil(t.villages.length / 5)); k++) {
      leads.push(
        add(`${t.code}-PQ${k}`, 'area_lead', t.code, chief, `${t.name}第${k}片区负责人`, {
          platform,
        }),
      );
    }
    areaLeads.set(t.code, leads);
    for (const v of t.villages) {
      const vTitle = v.community ? `${v.name}党委书记` : `${v.name}党支部书记`;
      villageChief.set(
        v.code,
        add(`${v.code}-FZ`, 'village_responsible', v.code, chief, vTitle, { platform }),
      );
      for (const g of v.grids) {
        const leader = add(
          `${g.code}-WGZ`,
          'grid_leader',
          v.code,
          villageChief.get(v.code) ?? chief,
          `${g.name}网格长`,
          { grid: g.code },
        );
        gridLeader.set(g.code, leader);
        const members = 1 + (hashParts(seed, 'members', g.code) % 2);
        for (let k = 1; k <= members; k++) {
          add(`${g.code}-WGY${k}`, 'grid_member', v.code, leader, `${g.name}网格员`, {
            grid: g.code,
          });
        }
      }
    }
  }
  const monitorOf = new Map<string, string>();
  for (const { grid, id, site } of monitors) {
    monitorOf.set(site.code, id);
    add(
      id,
      'group_monitor',
      grid.village.code,
      gridLeader.get(grid.code) ?? null,
      `${site.name}群测群防员`,
      { grid: grid.code },
    );
  }

  for (const site of hazardSites) {
    const village = site.grids[0].village;
    site.responsible = [
      villageChief.get(village.code),
      gridLeader.get(site.grids[0].code),
      monitorOf.get(site.code),
      geologistOf.get(village.township.code),
    ].filter((id): id is string => id !== undefined);
  }
  for (const zone of riskZones) {
    const township = zone.grids[0].village.township;
    const leads = areaLeads.get(township.code) ?? [];
    zone.responsible = [
      townshipChief.get(township.code),
      ...new Set(zone.grids.map((g) => villageChief.get(g.village.code))),
      leads[hashParts(seed, zone.code) % Math.max(1, leads.length)],
    ].filter((id): id is string => id !== undefined);
  }

  // ---- Contact points of the officials, in the order they should be tried.
  const contacts: ImportRecord[] = [];
  const seniorRoles: ReadonlySet<PersonRole> = new Set<PersonRole>([
    'duty_officer',
    'county_responsible',
    'technical_manager',
    'township_responsible',
  ]);
  officials.forEach((o, n) => {
    const rng = new SeededRandom(seed, 'contacts', o.id);
    const verified = `${ROSTER_MONTH}-${String(rng.int(1, 20)).padStart(2, '0')}`;
    const points: Array<[string, string]> = [['mobile', phones.mobile(n)]];
    if (seniorRoles.has(o.role) || o.role === 'village_responsible')
      points.push(['landline', phones.landline(n)]);
    if (
      o.role === 'duty_officer' ||
      o.role === 'county_responsible' ||
      o.role === 'resident_geologist' ||
      (o.role === 'township_responsible' && rng.chance(0.3))
    ) {
      points.push(['satellite', phones.satellite(n)]);
    }
    const platforms: RobotPlatform[] =
      o.role === 'duty_officer' ? ['wecom', 'dingtalk', 'feishu'] : o.platform ? [o.platform] : [];
    for (const platform of platforms) {
      const account =
        platform === 'wecom'
          ? `wx${rng.chars(10, BASE62)}`
          : platform === 'dingtalk'
            ? rng.chars(16, '0123456789')
            : `ou_${rng.chars(32)}`;
      points.push([platform, account]);
    }
    if (seniorRoles.has(o.role))
      points.push(['email', `${o.id.toLowerCase()}@${countyCode}.gov.example.cn`]);
    points.forEach(([kind, value], i) => {
      contacts.push({ person: o.id, kind, value, priority: i + 1, verified_at: verified });
    });
  });

  const { robots, broadcastTerminals } = equipCounty(plan, platformOf, {
    ...ROBOT_ORIGINS,
    ...opts.robotOrigins,
  });

  const officialCount = officials.length;
  function* residents(chunkSize = 20_000): Generator<ImportRecord[]> {
    let chunk: ImportRecord[] = [];
    for (const grid of plan.grids) {
      const rng = new SeededRandom(seed, 'residents', grid.code);
      for (let i = 0; i < grid.residents; i++) {
        const n = officialCount + grid.firstResident + i;
        chunk.push({
          id: residentId(grid, i),
          name: names.pick(rng),
          role: 'resident',
          division: grid.village.code,
          grid: grid.code,
          mobile: phones.mobile(n),
          landline: rng.chance(0.1) ? phones.landline(n) : null,
          email: rng.chance(0.06)
            ? `${rng.chars(rng.int(3, 6), 'abcdefghijklmnopqrstuvwxyz')}${rng.int(10, 9999)}@${rng.pick(['qq.com', '163.com', '126.com', 'sina.com'])}`
            : null,
        });
        if (chunk.length >= chunkSize) {
          yield chunk;
          chunk = [];
        }
      }
    }
    if (chunk.length > 0) yield chunk;
  }

  const divisions: ImportRecord[] = [
    { code: plan.province.code, name: plan.province.name },
    { code: plan.city.code, name: plan.city.name },
    { code: county.code, name: county.name },
    ...plan.townships.map((t) => ({ code: t.code, name: t.name })),
    ...plan.villages.map((v: VillagePlan) => ({ code: v.code, name: v.name })),
  ];

  return {
    plan,
    divisions,
    grids: plan.grids.map((g) => ({ code: g.code, name: g.name, village: g.village.code })),
    officials: officials.map((o) => o.record),
    contacts,
    residents,
    hazardPoints: hazardSites.map(siteRecord),
    riskZones: riskZones.map(siteRecord),
    robots,
    broadcastTerminals,
    dutyOfficerId: dutyOfficer,
    counts: {
      townships: plan.townships.length,
      villages: plan.villages.length,
      grids: plan.grids.length,
      officials: officials.length,
      residents: plan.options.residents,
      hazardPoints: hazardSites.length,
      riskZones: riskZones.length,
      robots: robots.length,
      broadcastTerminals: broadcastTerminals.length,
    },
  };
}
