/**
 * WarningContent → CAP 1.2 XML (OASIS), the exchange format of the national release system
 * (GB/T 35965.1 is based on it). Mapping:
 *
 * - identifier = the national id; sent = sentAt as `YYYY-MM-DDThh:mm:ss+08:00` (Beijing time);
 *   status Actual/Exercise/Test; msgType Alert/Update/Cancel; scope Public;
 * - sender = the issuer's CAP sender: this gateway's (`sender`), except for a message imported
 *   from elsewhere (a CAP feed), which keeps its original sender (`originalSenders`) and names the
 *   gateway in `note` ("Relayed by …"), so its identifier stays with its issuer;
 * - references (Update, Cancel) = `sender,identifier,sent` per referenced national id, space
 *   separated; the `sent` of each reference is read from its national id (which carries the issue
 *   time), the sender is the referenced message's original sender when it was imported, else
 *   this gateway's — so an update issued here to an imported warning still names the original
 *   issuer;
 * - one `<info>` in zh-CN: category Geo (Met when the hazard is rainstorm); event = 滑坡临灾预警 /
 *   地质灾害气象风险预警; responseType Evacuate (imminent) / Prepare (meteorological red, orange) /
 *   Monitor (yellow, blue) / AllClear (Cancel); urgency Immediate for imminent warnings, Expected
 *   otherwise; severity red→Extreme, orange→Severe, yellow→Moderate, blue→Minor; certainty Likely
 *   for imminent and red/orange meteorological warnings, Possible for yellow/blue (a risk
 *   forecast, not an observation);
 * - parameters and geocodes: see CAP_PARAM / CAP_GEOCODE in cap.types.ts.
 *
 * Text is escaped by the XML builder; characters XML 1.0 forbids (C0 controls other than tab,
 * LF, CR; lone surrogates; U+FFFE/U+FFFF) are removed.
 */
import { XMLBuilder } from 'fast-xml-parser';
import { parseNationalId } from '../../../common/domain/national-id';
import {
  HAZARD_NAMES_ZH,
  LEVEL_COLOURS_ZH,
  LEVEL_NUMBERS,
  MessageType,
  WarningContent,
  WarningLevel,
  WarningStatus,
} from '../../../common/domain/warning.types';
import {
  CAP_GEOCODE,
  CAP_NAMESPACE,
  CAP_PARAM,
  CapCategory,
  CapCertainty,
  CapResponseType,
  CapSeverity,
  CapUrgency,
  CapValuePair,
} from './cap.types';

export interface CapExportOptions {
  /** CAP sender: globally unique, no spaces, commas, '<' or '&' (e.g. 'wenchuan.gov.cn' or an OID). */
  sender: string;
  /** Human-readable issuer, e.g. 汶川县自然资源局. */
  senderName: string;
  web?: string;
  contact?: string;
  /**
   * The original CAP sender of messages that came from elsewhere (imported CAP alerts), by
   * identifier (national id). The message itself and any reference to such a message keep that
   * sender; everything else is this gateway's `sender`.
   */
  originalSenders?: Readonly<Record<string, string>>;
}

/** The gateway as named in `note` of a message it relays for another issuer. */
export function relayNote(gatewaySender: string): string {
  return `Relayed by ${gatewaySender} (预警叫应网关 warning gateway)`;
}

export class CapExportError extends Error {
  override readonly name = 'CapExportError';
  constructor(readonly issues: Array<{ field: string; message: string }>) {
    super(
      `Cannot export warning as CAP: ${issues.map((i) => `${i.field}: ${i.message}`).join('; ')}`,
    );
  }
}

export const CAP_STATUS_OF: Record<WarningStatus, 'Actual' | 'Exercise' | 'Test'> = {
  actual: 'Actual',
  exercise: 'Exercise',
  test: 'Test',
};
export const CAP_MSG_TYPE_OF: Record<MessageType, 'Alert' | 'Update' | 'Cancel'> = {
  alert: 'Alert',
  update: 'Update',
  cancel: 'Cancel',
};
export const CAP_SEVERITY_OF: Record<WarningLevel, CapSeverity> = {
  red: 'Extreme',
  orange: 'Severe',
  yellow: 'Moderate',
  blue: 'Minor',
};

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;
const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** CAP dateTime in Beijing time: 2024-07-10T20:30:00+08:00 (seconds precision). */
export function toCapDateTime(date: Date): string {
  const t = new Date(Math.floor(date.getTime() / 1000) * 1000 + BEIJING_OFFSET_MS);
  return (
    `${pad(t.getUTCFullYear(), 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}` +
    `T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}+08:00`
  );
}

/** Removes characters that cannot appear in XML 1.0 at all (escaping cannot save them). */
export function xmlSafe(s: string): string {
  return s.replace(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g,
    '',
  );
}

/** CAP forbids whitespace, commas, '<' and '&' in identifier and sender. */
const CAP_TOKEN = /^[^\s,<&]+$/;

export function capEvent(content: Pick<WarningContent, 'kind' | 'hazard'>): string {
  return content.kind === 'imminent'
    ? `${HAZARD_NAMES_ZH[content.hazard]}临灾预警`
    : '地质灾害气象风险预警';
}

function responseType(content: WarningContent): CapResponseType {
  if (content.msgType === 'cancel') return 'AllClear';
  if (content.kind === 'imminent') return 'Evacuate';
  return content.level === 'red' || content.level === 'orange' ? 'Prepare' : 'Monitor';
}

function certainty(content: WarningContent): CapCertainty {
  if (content.kind === 'imminent') return 'Likely';
  return content.level === 'red' || content.level === 'orange' ? 'Likely' : 'Possible';
}

function validDate(d: unknown): d is Date {
  return d instanceof Date && !Number.isNaN(d.getTime());
}

function check(content: WarningContent, opts: CapExportOptions): void {
  const issues: Array<{ field: string; message: string }> = [];
  if (!CAP_TOKEN.test(opts.sender ?? '')) {
    issues.push({
      field: 'sender',
      message: 'must be non-empty without spaces, commas, "<" or "&"',
    });
  }
  for (const [id, sender] of Object.entries(opts.originalSenders ?? {})) {
    if (!CAP_TOKEN.test(sender)) {
      issues.push({
        field: `originalSenders[${id}]`,
        message: 'must be non-empty without spaces, commas, "<" or "&"',
      });
    }
  }
  try {
    parseNationalId(content.nationalId);
  } catch (e) {
    issues.push({ field: 'nationalId', message: (e as Error).message });
  }
  content.references.forEach((r, i) => {
    try {
      parseNationalId(r);
    } catch (e) {
      issues.push({ field: `references[${i}]`, message: (e as Error).message });
    }
  });
  if (content.msgType !== 'alert' && content.references.length === 0) {
    issues.push({ field: 'references', message: `required for msgType ${content.msgType}` });
  }
  for (const field of ['sentAt', 'effective', 'expires'] as const) {
    if (!validDate(content[field])) issues.push({ field, message: 'must be a valid Date' });
  }
  if (content.onset !== undefined && !validDate(content.onset)) {
    issues.push({ field: 'onset', message: 'must be a valid Date' });
  }
  if (!content.headline?.trim() && !content.description?.trim()) {
    issues.push({ field: 'headline', message: 'headline or description is required' });
  }
  for (const [list, field] of [
    [content.areas, 'areas'],
    [content.hazardPoints, 'hazardPoints'],
    [content.riskZones, 'riskZones'],
  ] as const) {
    list.forEach((p, i) => {
      if (!p.code?.trim()) issues.push({ field: `${field}[${i}].code`, message: 'is empty' });
    });
  }
  content.areas.forEach((a, i) => {
    if (!/^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$/.test(a.code)) {
      issues.push({
        field: `areas[${i}].code`,
        message: `"${a.code}" is not a 2/4/6-digit GB/T 2260 or 9/12-digit statistical division code`,
      });
    }
  });
  if (issues.length) throw new CapExportError(issues);
}

const pair = (valueName: string, value: string | number): CapValuePair => ({
  valueName,
  value: xmlSafe(String(value)),
});

export function toCapXml(content: WarningContent, opts: CapExportOptions): string {
  check(content, opts);
  const category: CapCategory = content.hazard === 'rainstorm' ? 'Met' : 'Geo';
  const urgency: CapUrgency = content.kind === 'imminent' ? 'Immediate' : 'Expected';

  const parameters: CapValuePair[] = [
    pair(CAP_PARAM.color, content.level),
    pair(CAP_PARAM.level, LEVEL_NUMBERS[content.level]),
    pair(CAP_PARAM.kind, content.kind),
    pair(CAP_PARAM.hazard, content.hazard),
    pair(CAP_PARAM.version, content.version),
  ];
  if (content.extent?.trim()) parameters.push(pair(CAP_PARAM.extent, content.extent.trim()));
  if (content.impact) {
    parameters.push(pair(CAP_PARAM.impactPeople, content.impact.people));
    parameters.push(pair(CAP_PARAM.impactHouseholds, content.impact.households));
  }
  if (content.shelter?.trim()) parameters.push(pair(CAP_PARAM.shelter, content.shelter.trim()));

  const area = (name: string, valueName: string, code: string): Record<string, unknown> => ({
    areaDesc: xmlSafe(name.trim() || code),
    geocode: [pair(valueName, code)],
  });
  const areas = [
    ...content.areas.map((a) => area(a.name, CAP_GEOCODE.division, a.code)),
    ...content.hazardPoints.map((a) => area(a.name, CAP_GEOCODE.hazardPoint, a.code)),
    ...content.riskZones.map((a) => area(a.name, CAP_GEOCODE.riskZone, a.code)),
  ];

  const optional = (v: string | undefined): string | undefined =>
    v && v.trim() ? xmlSafe(v.trim()) : undefined;
  // Key order = XSD sequence order.
  const info: Record<string, unknown> = {
    language: 'zh-CN',
    category: [category],
    event: capEvent(content),
    responseType: [responseType(content)],
    urgency,
    severity: CAP_SEVERITY_OF[content.level],
    certainty: certainty(content),
    effective: toCapDateTime(content.effective),
    onset: content.onset ? toCapDateTime(content.onset) : undefined,
    expires: toCapDateTime(content.expires),
    senderName: optional(opts.senderName),
    headline:
      optional(content.headline) ?? `${capEvent(content)}（${LEVEL_COLOURS_ZH[content.level]}）`,
    description: optional(content.description),
    instruction: optional(content.instruction),
    web: optional(opts.web),
    contact: optional(opts.contact),
    parameter: parameters,
    area: areas.length ? areas : undefined,
  };
  const senderOf = (id: string): string => opts.originalSenders?.[id] ?? opts.sender;
  const sender = senderOf(content.nationalId);
  const alert: Record<string, unknown> = {
    '@_xmlns': CAP_NAMESPACE,
    identifier: content.nationalId,
    sender,
    sent: toCapDateTime(content.sentAt),
    status: CAP_STATUS_OF[content.status],
    msgType: CAP_MSG_TYPE_OF[content.msgType],
    scope: 'Public',
    note: sender === opts.sender ? undefined : xmlSafe(relayNote(opts.sender)),
    references: content.references.length
      ? content.references
          .map((id) => `${senderOf(id)},${id},${toCapDateTime(parseNationalId(id).sentAt)}`)
          .join(' ')
      : undefined,
    info: [stripUndefined(info)],
  };
  const builder = new XMLBuilder({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    format: true,
    indentBy: '  ',
    suppressEmptyNode: false,
    processEntities: true,
  });
  const body = builder.build({ alert: stripUndefined(alert) }) as string;
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body.trimEnd()}\n`;
}

function stripUndefined(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}
