import { SecretBox } from '../../src/common/crypto/secret-box';

/** People of the test village (渔子溪村, 513221001001) and how the sandbox makes them behave. */
export const PEOPLE = {
  villageChief: { ext: 'P-VR1', name: '王村长', mobile: '+8613800000001', email: 'vr1@example.cn' },
  gridLeader: { ext: 'P-GL1', name: '李网格', mobile: '+8613800000002' },
  resident: { ext: 'P-R1', name: '张居民', mobile: '+8613800000003' },
  deadMobile: { ext: 'P-R2', name: '赵居民', mobile: '+8613800000004', landline: '+862887654321' },
  townshipChief: { ext: 'P-TR1', name: '陈镇长', mobile: '+8613800000005' },
} as const;

export const ROBOT_KEY = 'grid1robotkey';

/** SQL for people, contacts, a hazard point, a WeCom robot and a loudspeaker, on top of BASE_DIRECTORY_SQL. */
export function villageFixtureSql(appSecret: string): string {
  const box = new SecretBox(appSecret);
  const url = box.encrypt(`https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=${ROBOT_KEY}`);
  const p = PEOPLE;
  return `
    INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
      ('${p.townshipChief.ext}', '${p.townshipChief.name}', 'township_responsible', '513221001', NULL),
      ('${p.villageChief.ext}', '${p.villageChief.name}', 'village_responsible', '513221001001', NULL),
      ('${p.gridLeader.ext}', '${p.gridLeader.name}', 'grid_leader', '513221001001', '513221001001001'),
      ('${p.resident.ext}', '${p.resident.name}', 'resident', '513221001001', '513221001001001'),
      ('${p.deadMobile.ext}', '${p.deadMobile.name}', 'resident', '513221001001', '513221001001001');
    UPDATE people SET supervisor_id = (SELECT id FROM people WHERE external_id = '${p.townshipChief.ext}')
     WHERE external_id = '${p.villageChief.ext}';
    INSERT INTO contact_points (person_id, kind, value, priority)
    SELECT id, c.kind, c.value, c.priority FROM people JOIN (VALUES
      ('${p.townshipChief.ext}', 'mobile', '${p.townshipChief.mobile}', 1),
      ('${p.villageChief.ext}', 'mobile', '${p.villageChief.mobile}', 1),
      ('${p.villageChief.ext}', 'email', '${p.villageChief.email}', 2),
      ('${p.gridLeader.ext}', 'mobile', '${p.gridLeader.mobile}', 1),
      ('${p.resident.ext}', 'mobile', '${p.resident.mobile}', 1),
      ('${p.deadMobile.ext}', 'mobile', '${p.deadMobile.mobile}', 1),
      ('${p.deadMobile.ext}', 'landline', '${p.deadMobile.landline}', 2)
    ) AS c(ext, kind, value, priority) ON c.ext = people.external_id;
    INSERT INTO hazard_sites (code, type, name, hazard, division_code, threatened_people, threatened_households)
      VALUES ('HP-1', 'hazard_point', '渔子溪滑坡隐患点', 'landslide', '513221001001', 12, 4),
             ('RZ-1', 'risk_zone', '渔子溪风险区', 'debris_flow', '513221001001', 30, 9);
    INSERT INTO hazard_site_grids VALUES ('HP-1', '513221001001001');
    INSERT INTO hazard_site_people SELECT 'HP-1', id, 'threatened' FROM people WHERE external_id = '${p.resident.ext}';
    INSERT INTO group_robots (code, platform, name, division_code, grid_code, webhook_url_encrypted)
      VALUES ('ROBOT-G1', 'wecom', '第1网格群', '513221001001', '513221001001001', '${url}');
    INSERT INTO broadcast_terminals (code, name, division_code) VALUES ('T-001', '渔子溪村大喇叭', '513221001001');
  `;
}

/** `count` residents of grid 1 with one mobile number each (`+86138000<prefix><nn>`), and their SQL. */
export function oneNumberResidents(count: number, prefix: string, ext: string) {
  const people = Array.from({ length: count }, (_, i) => ({
    ext: `${ext}${i}`,
    name: `居民${ext}${i}`,
    mobile: `+86138000${prefix}${String(i).padStart(2, '0')}`,
  }));
  const sql = `
    INSERT INTO people (external_id, name, role, division_code, grid_code) VALUES
      ${people.map((p) => `('${p.ext}', '${p.name}', 'resident', '513221001001', '513221001001001')`).join(',\n')};
    INSERT INTO contact_points (person_id, kind, value, priority)
      SELECT id, 'mobile', c.mobile, 1 FROM people JOIN (VALUES
        ${people.map((p) => `('${p.ext}', '${p.mobile}')`).join(', ')}) AS c(ext, mobile) ON c.ext = people.external_id;`;
  return { people, sql };
}
