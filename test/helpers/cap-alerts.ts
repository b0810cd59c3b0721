import { toCapXml } from '../../src/modules/warnings/cap/cap-export';
import type { WarningContent } from '../../src/common/domain/warning.types';

/** A public red imminent warning for the test village as a CAP 1.2 alert from `sender`. */
export function redCapAlert(sender: string, identifier: string, headline: string): string {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const content: WarningContent = {
    id: identifier,
    nationalId: identifier,
    version: 1,
    msgType: 'alert',
    references: [],
    kind: 'imminent',
    level: 'red',
    hazard: 'landslide',
    status: 'actual',
    headline,
    description: '渔子溪滑坡隐患点裂缝急剧扩大，随时可能发生滑坡。',
    instruction: '立即撤离至渔子溪小学避险点',
    areas: [{ code: '513221001001', name: '渔子溪村' }],
    hazardPoints: [{ code: 'HP-1', name: '渔子溪滑坡隐患点' }],
    riskZones: [],
    extent: '隐患点下方200米范围',
    impact: { people: 12, households: 4 },
    shelter: '渔子溪小学',
    sentAt: now,
    effective: now,
    onset: new Date(now.getTime() + 2 * 3600_000),
    expires: new Date(now.getTime() + 24 * 3600_000),
    issuer: { name: '上游发布单位', divisionCode: '51', agencyCode: '000' },
  };
  return toCapXml(content, { sender, senderName: '上游发布单位' });
}
