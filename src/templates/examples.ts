/**
 * Example warnings used by the template and CAP tests and for documentation / demos.
 * Place names are real (汶川县映秀镇, 阿坝州); codes follow the GB/T 2260 / statistical-division
 * layout but are illustrative.
 */
import type { WarningContent } from '../common/domain/warning.types';

const bj = (iso: string): Date => new Date(`${iso}+08:00`);

export const YINGXIU_VILLAGES = [
  '渔子溪村',
  '中滩堡村',
  '张家坪村',
  '黄家院村',
  '枫香树村',
  '老街村',
  '磨子沟村',
  '高店村',
  '麻柳湾村',
  '百花村',
  '龙池村',
  '东界脑村',
].map((v, i) => ({ code: `513221100${String(201 + i)}`, name: `汶川县映秀镇${v}` }));

/** 一级 red imminent landslide warning for villages of 汶川县映秀镇 (first version). */
export const IMMINENT_RED_ALERT: WarningContent = {
  id: 'w-yingxiu-1',
  nationalId: '51322141600000_20240710203000_1',
  version: 1,
  msgType: 'alert',
  references: [],
  kind: 'imminent',
  level: 'red',
  hazard: 'landslide',
  status: 'actual',
  headline: '汶川县自然资源局发布映秀镇滑坡红色临灾预警',
  description:
    '受持续强降雨影响，渔子溪村后山滑坡隐患点出现新的拉张裂缝，裂缝宽度快速增大，坡脚有渗水和掉块现象，滑坡随时可能发生。请密切关注坡体变形、异常声响和溪沟水位变化。',
  instruction:
    '请受威胁群众立即按撤离路线转移至映秀镇小学避险点，严禁返回取物；过往车辆和行人禁止通行G213线映秀段。',
  areas: YINGXIU_VILLAGES,
  hazardPoints: [{ code: 'HP513221100201-01', name: '渔子溪村后山滑坡' }],
  riskZones: [{ code: 'RZ513221100-03', name: '映秀镇渔子溪沟风险区' }],
  extent: '渔子溪村后山坡体及坡脚至渔子溪沟两岸约200米范围',
  impact: { people: 356, households: 120 },
  shelter: '映秀镇小学',
  sentAt: bj('2024-07-10T20:30:00'),
  effective: bj('2024-07-10T20:30:00'),
  onset: bj('2024-07-10T22:00:00'),
  expires: bj('2024-07-11T20:30:00'),
  issuer: { name: '汶川县自然资源局', divisionCode: '513221', agencyCode: '416' },
};

/** The same warning, first issued orange, then raised to red (version 2). */
export const IMMINENT_ORANGE_ALERT: WarningContent = {
  ...IMMINENT_RED_ALERT,
  id: 'w-yingxiu-0',
  nationalId: '51322141600000_20240710183000_1',
  level: 'orange',
  headline: '汶川县自然资源局发布映秀镇滑坡橙色临灾预警',
  areas: YINGXIU_VILLAGES.slice(0, 4),
  sentAt: bj('2024-07-10T18:30:00'),
  effective: bj('2024-07-10T18:30:00'),
  onset: bj('2024-07-11T02:00:00'),
  expires: bj('2024-07-11T18:30:00'),
};

export const IMMINENT_RED_UPDATE: WarningContent = {
  ...IMMINENT_RED_ALERT,
  id: 'w-yingxiu-2',
  nationalId: '51322141600000_20240710203000_2',
  version: 2,
  msgType: 'update',
  references: [IMMINENT_ORANGE_ALERT.nationalId],
  headline: '映秀镇滑坡临灾预警由橙色升级为红色',
};

export const IMMINENT_CANCEL: WarningContent = {
  ...IMMINENT_RED_ALERT,
  id: 'w-yingxiu-3',
  nationalId: '51322141600000_20240712090000_1',
  version: 3,
  msgType: 'cancel',
  references: [IMMINENT_ORANGE_ALERT.nationalId, IMMINENT_RED_UPDATE.nationalId],
  headline: '解除映秀镇滑坡红色临灾预警',
  description: '经专业技术人员现场核查，渔子溪村后山滑坡体变形已趋于稳定，降雨已经停止。',
  instruction: '撤离群众须经村组确认安全后有序返回，继续加强隐患点巡查。',
  sentAt: bj('2024-07-12T09:00:00'),
  effective: bj('2024-07-12T09:00:00'),
  onset: undefined,
  expires: bj('2024-07-12T21:00:00'),
};

/** 三级 yellow geological-hazard meteorological risk warning for counties of 阿坝州. */
export const METEO_YELLOW_ALERT: WarningContent = {
  id: 'w-aba-1',
  nationalId: '51320041600000_20240709170000_1',
  version: 1,
  msgType: 'alert',
  references: [],
  kind: 'meteorological_risk',
  level: 'yellow',
  hazard: 'geological_composite',
  status: 'actual',
  headline: '阿坝州自然资源局、阿坝州气象局联合发布地质灾害气象风险黄色预警',
  description:
    '预计7月9日20时至10日20时，汶川县、理县、茂县东部有大雨到暴雨，局地大暴雨，诱发滑坡、崩塌、泥石流等地质灾害的风险较高。',
  instruction:
    '请加强隐患点巡查排查和监测预警，及时发布预警信息，做好人员转移避险准备；强降雨期间避免前往沟谷、陡坡等危险区域。',
  areas: [
    { code: '513221', name: '汶川县' },
    { code: '513222', name: '理县' },
    { code: '513223', name: '茂县' },
  ],
  hazardPoints: [],
  riskZones: [],
  sentAt: bj('2024-07-09T17:00:00'),
  effective: bj('2024-07-09T20:00:00'),
  expires: bj('2024-07-10T20:00:00'),
  issuer: { name: '阿坝州自然资源局', divisionCode: '513200', agencyCode: '416' },
};

export const METEO_YELLOW_CANCEL: WarningContent = {
  ...METEO_YELLOW_ALERT,
  id: 'w-aba-2',
  nationalId: '51320041600000_20240710120000_1',
  version: 2,
  msgType: 'cancel',
  references: [METEO_YELLOW_ALERT.nationalId],
  headline: '解除地质灾害气象风险黄色预警',
  description: '强降雨过程已经结束。',
  instruction: '请继续做好隐患点巡查。',
  sentAt: bj('2024-07-10T12:00:00'),
  effective: bj('2024-07-10T12:00:00'),
  expires: bj('2024-07-10T20:00:00'),
};
