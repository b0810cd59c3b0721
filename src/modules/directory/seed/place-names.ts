import type { SeededRandom } from './seeded-random';

/** GB/T 2260 province-level codes and names. */
export const PROVINCES: Readonly<Record<string, string>> = {
  '11': '北京市',
  '12': '天津市',
  '13': '河北省',
  '14': '山西省',
  '15': '内蒙古自治区',
  '21': '辽宁省',
  '22': '吉林省',
  '23': '黑龙江省',
  '31': '上海市',
  '32': '江苏省',
  '33': '浙江省',
  '34': '安徽省',
  '35': '福建省',
  '36': '江西省',
  '37': '山东省',
  '41': '河南省',
  '42': '湖北省',
  '43': '湖南省',
  '44': '广东省',
  '45': '广西壮族自治区',
  '46': '海南省',
  '50': '重庆市',
  '51': '四川省',
  '52': '贵州省',
  '53': '云南省',
  '54': '西藏自治区',
  '61': '陕西省',
  '62': '甘肃省',
  '63': '青海省',
  '64': '宁夏回族自治区',
  '65': '新疆维吾尔自治区',
};

/** A few real prefectures and counties with many hazard points; others get generated names. */
const KNOWN_NAMES: Readonly<Record<string, string>> = {
  '5101': '成都市',
  '5132': '阿坝藏族羌族自治州',
  '513221': '汶川县',
  '513222': '理县',
  '513223': '茂县',
  '5134': '凉山彝族自治州',
  '513433': '冕宁县',
  '5106': '德阳市',
  '510683': '绵竹市',
  '5107': '绵阳市',
  '510726': '北川羌族自治县',
  '5331': '德宏傣族景颇族自治州',
  '5306': '昭通市',
  '530624': '大关县',
  '5226': '黔东南苗族侗族自治州',
  '5002': '重庆市郊县',
  '500240': '石柱土家族自治县',
  '6212': '陇南市',
  '621223': '宕昌县',
  '4228': '恩施土家族苗族自治州',
  '422802': '利川市',
};

/** Approximate centres, for plausible coordinates of hazard sites. */
const PROVINCE_CENTRES: Readonly<Record<string, [number, number]>> = {
  '11': [40.0, 116.4], '12': [39.2, 117.3], '13': [38.5, 114.9], '14': [37.6, 112.3],
  '15': [41.5, 111.7], '21': [41.3, 123.0], '22': [43.7, 126.2], '23': [46.8, 128.0],
  '31': [31.2, 121.4], '32': [32.9, 119.4], '33': [29.2, 120.2], '34': [31.8, 117.2],
  '35': [26.1, 118.0], '36': [27.6, 115.7], '37': [36.3, 118.1], '41': [33.9, 113.6],
  '42': [30.9, 112.3], '43': [27.6, 111.7], '44': [23.3, 113.3], '45': [23.8, 108.8],
  '46': [19.2, 109.8], '50': [29.8, 107.4], '51': [30.6, 103.0], '52': [26.8, 106.9],
  '53': [25.0, 101.5], '54': [30.2, 88.8], '61': [35.2, 108.9], '62': [36.1, 103.8],
  '63': [35.7, 96.0], '64': [37.3, 106.2], '65': [41.5, 85.6],
}; // prettier-ignore

const KNOWN_CENTRES: Readonly<Record<string, [number, number]>> = {
  '513221': [31.47, 103.59],
  '513222': [31.44, 103.17],
  '513223': [31.68, 103.85],
};

/** Area code and local-number length for landlines, by province (5132 … by prefecture). */
const AREA_CODES: Readonly<Record<string, [string, number]>> = {
  '11': ['010', 8], '12': ['022', 8], '13': ['0311', 8], '14': ['0351', 7], '15': ['0471', 7],
  '21': ['024', 8], '22': ['0431', 8], '23': ['0451', 8], '31': ['021', 8], '32': ['025', 8],
  '33': ['0571', 8], '34': ['0551', 8], '35': ['0591', 8], '36': ['0791', 8], '37': ['0531', 8],
  '41': ['0371', 8], '42': ['027', 8], '43': ['0731', 8], '44': ['020', 8], '45': ['0771', 7],
  '46': ['0898', 8], '50': ['023', 8], '51': ['028', 8], '52': ['0851', 8], '53': ['0871', 8],
  '54': ['0891', 7], '61': ['029', 8], '62': ['0931', 7], '63': ['0971', 7], '64': ['0951', 7],
  '65': ['0991', 7],
  '5132': ['0837', 7], '5134': ['0834', 7], '5107': ['0816', 7], '5106': ['0838', 7],
  '5306': ['0870', 7], '6212': ['0939', 7], '4228': ['0718', 7],
}; // prettier-ignore

export function centreOf(countyCode: string): [number, number] {
  return KNOWN_CENTRES[countyCode] ?? PROVINCE_CENTRES[countyCode.slice(0, 2)] ?? [30.6, 103.0];
}

export function areaCodeOf(countyCode: string): [string, number] {
  return AREA_CODES[countyCode.slice(0, 4)] ?? AREA_CODES[countyCode.slice(0, 2)] ?? ['028', 8];
}

const FIRST =
  '青石龙凤金银白红黄东西南北中上下大小高马花桃李杨柳松柏竹梅兰云山水河溪岭坪坝沟湾桥安福兴隆平新和丰太永长清明宝双三五七九'.split(
    '',
  );
const SECOND = '山水河溪岭坪坝沟湾桥林坡岩洞口场寨堡关庄家园川峰田塘江村营铺滩源门'.split('');

/** A two-character place name, not among `taken`. */
export function placeName(rng: SeededRandom, taken: Set<string>): string {
  for (let attempt = 0; ; attempt++) {
    const name = rng.pick(FIRST) + rng.pick(SECOND) + (attempt > 200 ? rng.pick(SECOND) : '');
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

export function provinceName(code: string): string {
  return PROVINCES[code] ?? `${code}省`;
}

export function knownName(code: string): string | undefined {
  return KNOWN_NAMES[code];
}

/** Where on a slope a hazard is, for site names: 后山滑坡, 沟口泥石流 … */
export const SITE_SPOTS = [
  '后山',
  '沟口',
  '老街',
  '河坝',
  '学校后',
  '大湾',
  '垭口',
  '岩脚',
  '院坝',
  '坡顶',
  '组上方',
  '公路边',
];
