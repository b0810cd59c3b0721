/**
 * CAP 1.2 XML → a validated `ParsedCapAlert`, or a `CapValidationError` listing every missing or
 * invalid element by path (e.g. `alert/info[0]/severity`).
 *
 * Accepted input: the CAP 1.2 namespace on the root `alert` (default namespace or any prefix);
 * element order is not enforced (the XSD does that); unknown elements are ignored (e.g. an XML
 * signature). DOCTYPE declarations are refused (no entity expansion / external entities).
 *
 * Inference per `<info>`:
 * - kind: `imminent` when a `warningKind`/`kind` parameter says so, urgency is Immediate, or the
 *   event says 临灾; otherwise `meteorological_risk` (a parameter saying meteorological_risk wins);
 * - level: the `color` parameter (aliases colour, 预警颜色, 颜色; red/红色/Red …), else the `level`
 *   parameter (1-4, 一级…四级, Ⅰ…Ⅳ, I…IV; aliases 预警级别, 预警等级), else severity
 *   (Extreme→red, Severe→orange, Moderate→yellow, Minor→blue);
 * - hazard: the `hazard` parameter, else keywords in event / eventCode / headline (泥石流, 滑坡, 崩塌,
 *   地面塌陷, 地裂缝, 山洪, 地质灾害, 暴雨 and English equivalents), else Met → rainstorm,
 *   otherwise geological_composite;
 * - division codes from geocodes named ADCODE or an alias (GB/T 2260, GB2260, GBT2260,
 *   行政区划代码, 区划代码, ADMINCODE), which must be 2/4/6/9/12 digits.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { isNationalId, parseNationalId } from '../../../common/domain/national-id';
import {
  HAZARD_TYPES,
  HazardType,
  MessageType,
  NamedPlace,
  WarningContent,
  WARNING_KINDS,
  WarningKind,
  WarningLevel,
  WarningStatus,
} from '../../../common/domain/warning.types';
import {
  CAP_CATEGORIES,
  CAP_CERTAINTIES,
  CAP_GEOCODE,
  CAP_MSG_TYPES,
  CAP_NAMESPACE,
  CAP_PARAM,
  CAP_RESPONSE_TYPES,
  CAP_SCOPES,
  CAP_SEVERITIES,
  CAP_STATUSES,
  CAP_URGENCIES,
  CapCategory,
  CapIssue,
  CapReference,
  CapResponseType,
  CapValidationError,
  CapValuePair,
  ParsedCapAlert,
  ParsedCapArea,
  ParsedCapInfo,
} from './cap.types';

export interface CapParseOptions {
  /** Require the identifier to be a national release-system id (default true). */
  requireNationalId?: boolean;
}

type Node = Record<string, unknown>;

const CAP_DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})([-+])(\d{2}):(\d{2})$/;

/** Parses a CAP dateTime (`YYYY-MM-DDThh:mm:ss±hh:mm`, no 'Z', no fractions); null if invalid. */
export function parseCapDateTime(s: string): Date | null {
  const m = CAP_DATETIME.exec(s);
  if (!m) return null;
  // prettier-ignore
  const [y, mo, d, h, mi, se, sign, oh, om] = [
    Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]),
    m[7], Number(m[8]), Number(m[9]),
  ] as const;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 59 || oh > 14 || om > 59) return null;
  const local = Date.UTC(y, mo - 1, d, h, mi, se);
  const check = new Date(local);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d) return null;
  const offset = (oh * 60 + om) * 60_000 * (sign === '+' ? 1 : -1);
  return new Date(local - offset);
}

const DIVISION_GEOCODE_NAMES = new Set(
  [
    'ADCODE',
    'GB/T 2260',
    'GB/T2260',
    'GB2260',
    'GBT2260',
    'GB_T_2260',
    '行政区划代码',
    '区划代码',
    'ADMINCODE',
  ].map(normName),
);
const COLOR_PARAM_NAMES = new Set(['color', 'colour', '预警颜色', '颜色'].map(normName));
const LEVEL_PARAM_NAMES = new Set(['level', '预警级别', '预警等级', 'warninglevel'].map(normName));
const KIND_PARAM_NAMES = new Set(['warningkind', 'kind'].map(normName));

function normName(s: string): string {
  return s.replace(/\s+/g, '').toLowerCase();
}

// prettier-ignore
const COLOR_VALUES: Record<string, WarningLevel> = {
  red: 'red', 红: 'red', 红色: 'red',
  orange: 'orange', 橙: 'orange', 橙色: 'orange',
  yellow: 'yellow', 黄: 'yellow', 黄色: 'yellow',
  blue: 'blue', 蓝: 'blue', 蓝色: 'blue',
};
// prettier-ignore
const LEVEL_VALUES: Record<string, WarningLevel> = {
  '1': 'red', 一级: 'red', 'i': 'red', 'ⅰ': 'red', 'i级': 'red', 'ⅰ级': 'red',
  '2': 'orange', 二级: 'orange', 'ii': 'orange', 'ⅱ': 'orange', 'ii级': 'orange', 'ⅱ级': 'orange',
  '3': 'yellow', 三级: 'yellow', 'iii': 'yellow', 'ⅲ': 'yellow', 'iii级': 'yellow', 'ⅲ级': 'yellow',
  '4': 'blue', 四级: 'blue', 'iv': 'blue', 'ⅳ': 'blue', 'iv级': 'blue', 'ⅳ级': 'blue',
};
const SEVERITY_LEVEL: Partial<Record<string, WarningLevel>> = {
  Extreme: 'red',
  Severe: 'orange',
  Moderate: 'yellow',
  Minor: 'blue',
};
/** Most specific first. */
const HAZARD_KEYWORDS: Array<[RegExp, HazardType]> = [
  [/泥石流|debris[\s-]?flow/i, 'debris_flow'],
  [/滑坡|landslide/i, 'landslide'],
  [/崩塌|rock\s?fall|collapse/i, 'collapse'],
  [/地面塌陷|塌陷|subsidence|sinkhole/i, 'ground_subsidence'],
  [/地裂缝|ground\s?fissure/i, 'ground_fissure'],
  [/山洪|flash\s?flood/i, 'flash_flood'],
  [/地质灾害|geo(logical)?[\s-]?hazard/i, 'geological_composite'],
  [/暴雨|rainstorm|heavy\s?rain/i, 'rainstorm'],
];

/* ------------------------------------------------------------------------------------------ */

class Reader {
  readonly issues: CapIssue[] = [];

  issue(element: string, message: string): void {
    this.issues.push({ element, message });
  }

  /** Children named `name` (always arrays thanks to isArray). */
  all(node: Node, name: string): unknown[] {
    const v = node[name];
    return v === undefined ? [] : (v as unknown[]);
  }

  text(value: unknown, path: string): string | undefined {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object') {
      const o = value as Node;
      const childElements = Object.keys(o).filter((k) => k !== '#text' && !k.startsWith('@_'));
      if (childElements.length) {
        this.issue(path, `must contain text only, found element <${childElements[0]}>`);
        return undefined;
      }
      return typeof o['#text'] === 'string' ? o['#text'] : String(o['#text'] ?? '');
    }
    return value === undefined || value === null ? undefined : String(value);
  }

  /** Exactly one (required) or at most one (optional) text element. */
  one(node: Node, name: string, path: string, required: boolean): string | undefined {
    const items = this.all(node, name);
    const p = `${path}/${name}`;
    if (items.length === 0) {
      if (required) this.issue(p, 'is missing');
      return undefined;
    }
    if (items.length > 1) this.issue(p, `must occur once, found ${items.length}`);
    const t = this.text(items[0], p);
    if (t === undefined) return undefined;
    if (required && t.trim() === '') {
      this.issue(p, 'is empty');
      return undefined;
    }
    return t.trim() === '' ? undefined : t;
  }

  enumOf<T extends string>(
    node: Node,
    name: string,
    path: string,
    allowed: readonly T[],
    required: boolean,
  ): T | undefined {
    const v = this.one(node, name, path, required);
    if (v === undefined) return undefined;
    if (!(allowed as readonly string[]).includes(v)) {
      this.issue(`${path}/${name}`, `"${v}" is not one of ${allowed.join(', ')}`);
      return undefined;
    }
    return v as T;
  }

  dateTime(node: Node, name: string, path: string, required: boolean): Date | undefined {
    const v = this.one(node, name, path, required);
    if (v === undefined) return undefined;
    const d = parseCapDateTime(v);
    if (!d) {
      this.issue(`${path}/${name}`, `"${v}" is not a CAP dateTime (YYYY-MM-DDThh:mm:ss+hh:mm)`);
      return undefined;
    }
    return d;
  }

  valuePairs(node: Node, name: string, path: string): CapValuePair[] {
    const out: CapValuePair[] = [];
    this.all(node, name).forEach((item, i) => {
      const p = `${path}/${name}[${i}]`;
      if (!item || typeof item !== 'object') {
        this.issue(p, 'must contain valueName and value');
        return;
      }
      const valueName = this.one(item as Node, 'valueName', p, true);
      const value = this.one(item as Node, 'value', p, false) ?? '';
      if (valueName !== undefined) out.push({ valueName: valueName.trim(), value: value.trim() });
    });
    return out;
  }
}

/* ------------------------------------------------------------------------------------------ */

function parseXml(xml: string): Node {
  const xmlText = xml.replace(/^\uFEFF/, '');
  if (/<!DOCTYPE/i.test(xmlText)) {
    throw new CapValidationError([
      { element: 'xml', message: 'DOCTYPE declarations are not allowed' },
    ]);
  }
  const valid = XMLValidator.validate(xmlText);
  if (valid !== true) {
    throw new CapValidationError([
      {
        element: 'xml',
        message: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
      },
    ]);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    processEntities: true,
    isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
  });
  return parser.parse(xmlText) as Node;
}

/** Finds the CAP root, checks its namespace and returns it with the CAP prefix stripped. */
function capRoot(doc: Node): Node {
  const roots = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('#'));
  if (roots.length !== 1) {
    throw new CapValidationError([
      { element: 'alert', message: 'document must have one root element <alert>' },
    ]);
  }
  const rootName = roots[0]!;
  const [prefix, local] = rootName.includes(':') ? rootName.split(':', 2) : ['', rootName];
  if (local !== 'alert') {
    throw new CapValidationError([
      { element: 'alert', message: `root element is <${rootName}>, expected <alert>` },
    ]);
  }
  const rootArr = doc[rootName] as unknown[];
  if (rootArr.length !== 1 || typeof rootArr[0] !== 'object') {
    throw new CapValidationError([{ element: 'alert', message: 'must contain the CAP elements' }]);
  }
  const root = rootArr[0] as Node;
  const ns = root[prefix ? `@_xmlns:${prefix}` : '@_xmlns'];
  if (ns !== CAP_NAMESPACE) {
    throw new CapValidationError([
      {
        element: 'alert',
        message: `namespace must be ${CAP_NAMESPACE}, got ${ns === undefined ? 'none' : `"${String(ns)}"`}`,
      },
    ]);
  }
  return prefix ? stripPrefix(root, prefix) : dropPrefixed(root);
}

/** Keeps only elements in the CAP prefix (or unprefixed), with the prefix removed. */
function stripPrefix(node: Node, prefix: string): Node {
  const out: Node = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('@_') || k === '#text') {
      out[k] = v;
    } else if (k.startsWith(`${prefix}:`)) {
      out[k.slice(prefix.length + 1)] = (v as unknown[]).map((c) =>
        c && typeof c === 'object' ? stripPrefix(c as Node, prefix) : c,
      );
    }
  }
  return out;
}

/** Default-namespace documents: drop elements of other prefixes (e.g. ds:Signature). */
function dropPrefixed(node: Node): Node {
  const out: Node = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith('@_') || k === '#text') out[k] = v;
    else if (!k.includes(':')) {
      out[k] = (v as unknown[]).map((c) =>
        c && typeof c === 'object' ? dropPrefixed(c as Node) : c,
      );
    }
  }
  return out;
}

const STATUS_MAP: Partial<Record<string, WarningStatus>> = {
  Actual: 'actual',
  Exercise: 'exercise',
  Test: 'test',
};
const MSG_TYPE_MAP: Partial<Record<string, MessageType>> = {
  Alert: 'alert',
  Update: 'update',
  Cancel: 'cancel',
};

function paramValue(params: CapValuePair[], names: Set<string>): CapValuePair | undefined {
  return params.find((p) => names.has(normName(p.valueName)));
}

function parseInfo(r: Reader, node: Node, path: string): ParsedCapInfo | undefined {
  const before = r.issues.length;
  const language = r.one(node, 'language', path, false) ?? 'en-US';
  const categories: CapCategory[] = [];
  const catItems = r.all(node, 'category');
  if (!catItems.length) r.issue(`${path}/category`, 'is missing');
  catItems.forEach((c, i) => {
    const v = r.text(c, `${path}/category[${i}]`)?.trim();
    if (v && (CAP_CATEGORIES as readonly string[]).includes(v)) categories.push(v as CapCategory);
    else
      r.issue(`${path}/category[${i}]`, `"${v ?? ''}" is not one of ${CAP_CATEGORIES.join(', ')}`);
  });
  const event = r.one(node, 'event', path, true);
  const responseTypes: CapResponseType[] = [];
  r.all(node, 'responseType').forEach((c, i) => {
    const v = r.text(c, `${path}/responseType[${i}]`)?.trim();
    if (v && (CAP_RESPONSE_TYPES as readonly string[]).includes(v))
      responseTypes.push(v as CapResponseType);
    else
      r.issue(
        `${path}/responseType[${i}]`,
        `"${v ?? ''}" is not one of ${CAP_RESPONSE_TYPES.join(', ')}`,
      );
  });
  const urgency = r.enumOf(node, 'urgency', path, CAP_URGENCIES, true);
  const severity = r.enumOf(node, 'severity', path, CAP_SEVERITIES, true);
  const certainty = r.enumOf(node, 'certainty', path, CAP_CERTAINTIES, true);
  const eventCodes = r.valuePairs(node, 'eventCode', path);
  const effective = r.dateTime(node, 'effective', path, false);
  const onset = r.dateTime(node, 'onset', path, false);
  const expires = r.dateTime(node, 'expires', path, false);
  const senderName = r.one(node, 'senderName', path, false);
  const headline = r.one(node, 'headline', path, false);
  const description = r.one(node, 'description', path, false);
  const instruction = r.one(node, 'instruction', path, false);
  const web = r.one(node, 'web', path, false);
  const contact = r.one(node, 'contact', path, false);
  const parameters = r.valuePairs(node, 'parameter', path);
  if (effective && expires && expires.getTime() < effective.getTime()) {
    r.issue(`${path}/expires`, 'is before effective');
  }

  // Areas
  const areas: ParsedCapArea[] = [];
  const divisions: NamedPlace[] = [];
  const hazardPoints: NamedPlace[] = [];
  const riskZones: NamedPlace[] = [];
  r.all(node, 'area').forEach((a, i) => {
    const p = `${path}/area[${i}]`;
    if (!a || typeof a !== 'object') {
      r.issue(p, 'must contain areaDesc');
      return;
    }
    const an = a as Node;
    const areaDesc = r.one(an, 'areaDesc', p, true) ?? '';
    const texts = (name: string): string[] =>
      r.all(an, name).map((x, j) => r.text(x, `${p}/${name}[${j}]`) ?? '');
    const geocodes = r.valuePairs(an, 'geocode', p);
    geocodes.forEach((g, j) => {
      const name = normName(g.valueName);
      if (DIVISION_GEOCODE_NAMES.has(name)) {
        if (!/^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$/.test(g.value)) {
          r.issue(
            `${p}/geocode[${j}]/value`,
            `"${g.value}" is not a 2/4/6/9/12-digit division code`,
          );
        } else {
          divisions.push({ code: g.value, name: areaDesc });
        }
      } else if (name === normName(CAP_GEOCODE.hazardPoint) && g.value) {
        hazardPoints.push({ code: g.value, name: areaDesc });
      } else if (name === normName(CAP_GEOCODE.riskZone) && g.value) {
        riskZones.push({ code: g.value, name: areaDesc });
      }
    });
    areas.push({ areaDesc, polygons: texts('polygon'), circles: texts('circle'), geocodes });
  });

  // Level
  let level: WarningLevel | undefined;
  const colorParam = paramValue(parameters, COLOR_PARAM_NAMES);
  if (colorParam) {
    level = COLOR_VALUES[colorParam.value.trim().toLowerCase()];
    if (!level)
      r.issue(
        `${path}/parameter[${colorParam.valueName}]`,
        `"${colorParam.value}" is not a warning colour`,
      );
  }
  const levelParam = paramValue(parameters, LEVEL_PARAM_NAMES);
  if (levelParam) {
    const fromLevel = LEVEL_VALUES[levelParam.value.replace(/\s+/g, '').toLowerCase()];
    if (!fromLevel)
      r.issue(
        `${path}/parameter[${levelParam.valueName}]`,
        `"${levelParam.value}" is not a warning level`,
      );
    else if (level && fromLevel !== level) {
      r.issue(
        `${path}/parameter[${levelParam.valueName}]`,
        `level ${levelParam.value} contradicts colour ${colorParam!.value}`,
      );
    } else level ??= fromLevel;
  }
  if (!level && severity) {
    level = SEVERITY_LEVEL[severity];
    if (!level && !colorParam && !levelParam) {
      r.issue(
        `${path}/severity`,
        'is Unknown and no color/level parameter gives the warning level',
      );
    }
  }

  // Kind
  let kind: WarningKind | undefined;
  const kindParam = paramValue(parameters, KIND_PARAM_NAMES);
  if (kindParam) {
    if ((WARNING_KINDS as readonly string[]).includes(kindParam.value))
      kind = kindParam.value as WarningKind;
    else
      r.issue(
        `${path}/parameter[${kindParam.valueName}]`,
        `"${kindParam.value}" is not one of ${WARNING_KINDS.join(', ')}`,
      );
  }
  kind ??= urgency === 'Immediate' || /临灾/.test(event ?? '') ? 'imminent' : 'meteorological_risk';

  // Hazard
  let hazard: HazardType | undefined;
  const hazardParam = parameters.find((p) => normName(p.valueName) === normName(CAP_PARAM.hazard));
  if (hazardParam) {
    if ((HAZARD_TYPES as readonly string[]).includes(hazardParam.value))
      hazard = hazardParam.value as HazardType;
    else
      r.issue(
        `${path}/parameter[${hazardParam.valueName}]`,
        `"${hazardParam.value}" is not one of ${HAZARD_TYPES.join(', ')}`,
      );
  }
  if (!hazard) {
    const wording = [event ?? '', ...eventCodes.map((c) => c.value), headline ?? ''].join(' ');
    hazard = HAZARD_KEYWORDS.find(([re]) => re.test(wording))?.[1];
  }
  hazard ??=
    categories.includes('Met') && !categories.includes('Geo')
      ? 'rainstorm'
      : 'geological_composite';

  // Details
  const param = (name: string): string | undefined =>
    parameters.find((p) => normName(p.valueName) === normName(name))?.value || undefined;
  const int = (name: string): number | undefined => {
    const v = param(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) {
      r.issue(`${path}/parameter[${name}]`, `"${v}" is not a non-negative integer`);
      return undefined;
    }
    return Number(v);
  };
  const version = int(CAP_PARAM.version);
  const people = int(CAP_PARAM.impactPeople);
  const households = int(CAP_PARAM.impactHouseholds);

  if (r.issues.length > before || !event || !urgency || !severity || !certainty || !level)
    return undefined;
  return {
    language,
    categories,
    event,
    responseTypes,
    urgency,
    severity,
    certainty,
    eventCodes,
    effective,
    onset,
    expires,
    senderName,
    headline,
    description,
    instruction,
    web,
    contact,
    parameters,
    areas,
    kind,
    level,
    hazard,
    areaCodes: divisions.map((d) => d.code),
    divisions,
    hazardPoints,
    riskZones,
    version,
    extent: param(CAP_PARAM.extent),
    impact:
      people !== undefined || households !== undefined
        ? { people: people ?? 0, households: households ?? 0 }
        : undefined,
    shelter: param(CAP_PARAM.shelter),
  };
}

export function parseCapXml(xml: string, options: CapParseOptions = {}): ParsedCapAlert {
  if (typeof xml !== 'string' || !xml.trim()) {
    throw new CapValidationError([{ element: 'xml', message: 'input is empty' }]);
  }
  const root = capRoot(parseXml(xml));
  const r = new Reader();
  const path = 'alert';

  const identifier = r.one(root, 'identifier', path, true);
  let nationalId: ParsedCapAlert['nationalId'];
  if (identifier !== undefined) {
    if (/[\s,<&]/.test(identifier)) {
      r.issue(`${path}/identifier`, 'must not contain spaces, commas, "<" or "&"');
    } else if (isNationalId(identifier)) {
      nationalId = parseNationalId(identifier);
    } else if (options.requireNationalId !== false) {
      try {
        parseNationalId(identifier);
      } catch (e) {
        r.issue(`${path}/identifier`, `not a national warning id: ${(e as Error).message}`);
      }
    }
  }
  const sender = r.one(root, 'sender', path, true);
  if (sender !== undefined && /[\s,<&]/.test(sender)) {
    r.issue(`${path}/sender`, 'must not contain spaces, commas, "<" or "&"');
  }
  const sent = r.dateTime(root, 'sent', path, true);
  const statusRaw = r.enumOf(root, 'status', path, CAP_STATUSES, true);
  const status = statusRaw ? STATUS_MAP[statusRaw] : undefined;
  if (statusRaw && !status)
    r.issue(`${path}/status`, `"${statusRaw}" is not supported (Actual, Exercise or Test)`);
  const msgTypeRaw = r.enumOf(root, 'msgType', path, CAP_MSG_TYPES, true);
  const msgType = msgTypeRaw ? MSG_TYPE_MAP[msgTypeRaw] : undefined;
  if (msgTypeRaw && !msgType)
    r.issue(`${path}/msgType`, `"${msgTypeRaw}" is not supported (Alert, Update or Cancel)`);
  const source = r.one(root, 'source', path, false);
  const scope = r.enumOf(root, 'scope', path, CAP_SCOPES, true);
  const note = r.one(root, 'note', path, false);

  const references: CapReference[] = [];
  const refText = r.one(root, 'references', path, false);
  if (refText) {
    refText
      .trim()
      .split(/\s+/)
      .forEach((entry, i) => {
        const parts = entry.split(',');
        const refSent = parts.length === 3 ? parseCapDateTime(parts[2]!) : null;
        if (parts.length !== 3 || !parts[0] || !parts[1] || !refSent) {
          r.issue(`${path}/references[${i}]`, `"${entry}" is not sender,identifier,sent`);
        } else {
          references.push({ sender: parts[0], identifier: parts[1], sent: refSent });
        }
      });
  }
  if ((msgType === 'update' || msgType === 'cancel') && !refText) {
    r.issue(`${path}/references`, `is required for msgType ${msgTypeRaw}`);
  }

  const infos: ParsedCapInfo[] = [];
  const infoNodes = r.all(root, 'info');
  if (!infoNodes.length && msgType !== 'cancel') r.issue(`${path}/info`, 'is missing');
  infoNodes.forEach((n, i) => {
    const p = `${path}/info[${i}]`;
    if (!n || typeof n !== 'object') {
      r.issue(p, 'must contain the info elements');
      return;
    }
    const info = parseInfo(r, n as Node, p);
    if (info) infos.push(info);
  });

  if (r.issues.length) throw new CapValidationError(r.issues);
  return {
    identifier: identifier!,
    nationalId,
    sender: sender!,
    sent: sent!,
    status: status!,
    msgType: msgType!,
    scope: scope!,
    source,
    note,
    references,
    referenceIds: references.map((x) => x.identifier),
    infos,
  };
}

/** The info block in the preferred language (prefix match, default zh), else the first. */
export function primaryInfo(alert: ParsedCapAlert, language = 'zh'): ParsedCapInfo | undefined {
  const lang = language.toLowerCase();
  return alert.infos.find((i) => i.language.toLowerCase().startsWith(lang)) ?? alert.infos[0];
}

/**
 * The reason a CAP Cancel gives for itself: its info `description`, else the alert `note`. Never
 * the referenced alert's texts (a cancel that repeats 立即撤离 contradicts itself). Undefined for
 * other message types or when the cancel gives none.
 */
export function capCancelReason(alert: ParsedCapAlert, language?: string): string | undefined {
  if (alert.msgType !== 'cancel') return undefined;
  const own = primaryInfo(alert, language)?.description ?? alert.note;
  return own?.trim() || undefined;
}

/**
 * Builds the gateway's WarningContent from a parsed alert (the info in `language`, default zh).
 * Requires a national id as identifier and an info block with `expires`; throws
 * CapValidationError otherwise. `id` is the persistence id to assign (default: the national id).
 *
 * A Cancel carries its own texts: `description` is its reason (`capCancelReason`) and
 * `instruction` its own follow-up (empty when it gives none), never the referenced alert's. A
 * Cancel without info (CAP allows it) needs `referenced`, the warning it cancels, for what the
 * texts do not say (kind, level, hazard, areas, times); areas also come from there when the
 * Cancel's info names none.
 */
export function capAlertToWarningContent(
  alert: ParsedCapAlert,
  opts: { id?: string; language?: string; referenced?: WarningContent } = {},
): WarningContent {
  const issues: CapIssue[] = [];
  const info = primaryInfo(alert, opts.language);
  const cancel = alert.msgType === 'cancel';
  if (!alert.nationalId)
    issues.push({ element: 'alert/identifier', message: 'is not a national warning id' });
  if (cancel && !info && opts.referenced && alert.nationalId) {
    return cancelOf(alert, opts.referenced, alert.nationalId, opts);
  }
  if (!info) issues.push({ element: 'alert/info', message: 'is missing' });
  else if (!info.expires) issues.push({ element: 'alert/info/expires', message: 'is missing' });
  if (issues.length || !info || !alert.nationalId || !info.expires)
    throw new CapValidationError(issues);
  const ref = cancel ? opts.referenced : undefined;
  const noPlaces = !info.divisions.length && !info.hazardPoints.length && !info.riskZones.length;
  return {
    id: opts.id ?? alert.identifier,
    nationalId: alert.identifier,
    version: info.version ?? alert.references.length + 1,
    msgType: alert.msgType,
    references: alert.referenceIds,
    kind: info.kind,
    level: info.level,
    hazard: info.hazard,
    status: alert.status,
    headline: info.headline ?? '',
    description: cancel ? (capCancelReason(alert, opts.language) ?? '') : (info.description ?? ''),
    instruction: info.instruction ?? '',
    areas: ref && noPlaces ? ref.areas : info.divisions,
    hazardPoints: ref && noPlaces ? ref.hazardPoints : info.hazardPoints,
    riskZones: ref && noPlaces ? ref.riskZones : info.riskZones,
    extent: info.extent,
    impact: info.impact,
    shelter: info.shelter,
    sentAt: alert.sent,
    effective: info.effective ?? alert.sent,
    onset: info.onset,
    expires: info.expires,
    issuer: {
      name: info.senderName ?? alert.sender,
      divisionCode: alert.nationalId.areaCode,
      agencyCode: alert.nationalId.agencyCode,
    },
  };
}

/** A Cancel without info: its own reason, the rest from the warning it cancels. */
function cancelOf(
  alert: ParsedCapAlert,
  referenced: WarningContent,
  nationalId: NonNullable<ParsedCapAlert['nationalId']>,
  opts: { id?: string },
): WarningContent {
  return {
    ...referenced,
    id: opts.id ?? alert.identifier,
    nationalId: alert.identifier,
    version: referenced.version + 1,
    msgType: 'cancel',
    references: alert.referenceIds,
    status: alert.status,
    headline: `解除${referenced.headline}`,
    description: capCancelReason(alert) ?? '',
    instruction: '',
    onset: undefined,
    sentAt: alert.sent,
    effective: alert.sent,
    expires: referenced.expires.getTime() > alert.sent.getTime() ? referenced.expires : alert.sent,
    issuer: {
      name: referenced.issuer.name,
      divisionCode: nationalId.areaCode,
      agencyCode: nationalId.agencyCode,
    },
  };
}
