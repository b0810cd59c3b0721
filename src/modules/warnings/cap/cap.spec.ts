import { readFileSync } from 'fs';
import { join } from 'path';
import { validateXML } from 'xmllint-wasm';
import {
  IMMINENT_CANCEL,
  IMMINENT_ORANGE_ALERT,
  IMMINENT_RED_ALERT,
  IMMINENT_RED_UPDATE,
  METEO_YELLOW_ALERT,
  METEO_YELLOW_CANCEL,
} from '../../../templates/examples';
import type { WarningContent } from '../../../common/domain/warning.types';
import {
  CAP_XSD_PATH,
  CapExportError,
  CapValidationError,
  capAlertToWarningContent,
  capCancelReason,
  parseCapDateTime,
  parseCapXml,
  primaryInfo,
  toCapDateTime,
  toCapXml,
} from './index';

const XSD = readFileSync(join(__dirname, 'CAP-v1.2.xsd'), 'utf8');
const OPTS = { sender: 'wenchuan.gov.cn', senderName: '汶川县自然资源局' };

async function schemaErrors(xml: string): Promise<string[]> {
  const result = await validateXML({
    xml: [{ fileName: 'alert.xml', contents: xml }],
    schema: [{ fileName: 'CAP-v1.2.xsd', contents: XSD }],
  });
  return result.valid ? [] : result.errors.map((e) => e.message);
}

function capError(fn: () => unknown): CapValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CapValidationError) return e;
    throw e;
  }
  throw new Error('expected CapValidationError');
}

describe('CAP 1.2 export', () => {
  it('ships the official schema beside the module', () => {
    expect(CAP_XSD_PATH).toBe(join(__dirname, 'CAP-v1.2.xsd'));
    expect(XSD).toContain('urn:oasis:names:tc:emergency:cap:1.2');
  });

  it.each([
    ['imminent Alert', IMMINENT_RED_ALERT],
    ['imminent Update', IMMINENT_RED_UPDATE],
    ['imminent Cancel', IMMINENT_CANCEL],
    ['meteorological Alert', METEO_YELLOW_ALERT],
    ['meteorological Cancel', METEO_YELLOW_CANCEL],
  ])('%s validates against CAP-v1.2.xsd', async (_name, content) => {
    const xml = toCapXml(content, OPTS);
    expect(await schemaErrors(xml)).toEqual([]);
  });

  it('the schema check is not vacuous', async () => {
    const xml = toCapXml(IMMINENT_RED_ALERT, OPTS).replace(
      '<severity>Extreme</severity>',
      '<severity>Huge</severity>',
    );
    expect((await schemaErrors(xml)).join('\n')).toMatch(/severity/);
  });

  it('maps the header and info elements', () => {
    const xml = toCapXml(IMMINENT_RED_UPDATE, OPTS);
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">/,
    );
    expect(xml).toContain('<identifier>51322141600000_20240710203000_2</identifier>');
    expect(xml).toContain('<sent>2024-07-10T20:30:00+08:00</sent>');
    expect(xml).toContain('<status>Actual</status>');
    expect(xml).toContain('<msgType>Update</msgType>');
    expect(xml).toContain('<scope>Public</scope>');
    expect(xml).toContain(
      '<references>wenchuan.gov.cn,51322141600000_20240710183000_1,2024-07-10T18:30:00+08:00</references>',
    );
    expect(xml).toContain('<language>zh-CN</language>');
    expect(xml).toContain('<category>Geo</category>');
    expect(xml).toContain('<event>滑坡临灾预警</event>');
    expect(xml).toContain('<urgency>Immediate</urgency>');
    expect(xml).toContain('<severity>Extreme</severity>');
    expect(xml).toContain('<certainty>Likely</certainty>');
    expect(xml).toMatch(/<valueName>color<\/valueName>\s*<value>red<\/value>/);
    expect(xml).toMatch(/<valueName>level<\/valueName>\s*<value>1<\/value>/);
    expect(xml).toMatch(
      /<areaDesc>汶川县映秀镇渔子溪村<\/areaDesc>\s*<geocode>\s*<valueName>ADCODE<\/valueName>\s*<value>513221100201<\/value>/,
    );
  });

  it('maps levels to severity, kind to urgency and rainstorm to Met', () => {
    const cases: Array<[WarningContent, string, string, string]> = [
      [{ ...METEO_YELLOW_ALERT, level: 'red' }, 'Extreme', 'Expected', 'Geo'],
      [{ ...METEO_YELLOW_ALERT, level: 'orange' }, 'Severe', 'Expected', 'Geo'],
      [METEO_YELLOW_ALERT, 'Moderate', 'Expected', 'Geo'],
      [{ ...METEO_YELLOW_ALERT, level: 'blue', hazard: 'rainstorm' }, 'Minor', 'Expected', 'Met'],
      [IMMINENT_ORANGE_ALERT, 'Severe', 'Immediate', 'Geo'],
    ];
    for (const [content, severity, urgency, category] of cases) {
      const xml = toCapXml(content, OPTS);
      expect(xml).toContain(`<severity>${severity}</severity>`);
      expect(xml).toContain(`<urgency>${urgency}</urgency>`);
      expect(xml).toContain(`<category>${category}</category>`);
    }
    expect(toCapXml(IMMINENT_CANCEL, OPTS)).toContain('<responseType>AllClear</responseType>');
  });

  it('lists every referenced version in references', () => {
    const xml = toCapXml(IMMINENT_CANCEL, OPTS);
    expect(xml).toContain(
      '<references>wenchuan.gov.cn,51322141600000_20240710183000_1,2024-07-10T18:30:00+08:00 ' +
        'wenchuan.gov.cn,51322141600000_20240710203000_2,2024-07-10T20:30:00+08:00</references>',
    );
  });

  it('escapes markup and removes characters XML cannot carry, and still validates', async () => {
    const nasty: WarningContent = {
      ...IMMINENT_RED_ALERT,
      headline: '<b>滑坡</b> & "撤离" \'now\'',
      description: 'A < B && C > D ]]> <![CDATA[x]]> \u0007bell \uD800lone',
      instruction: '撤离至 <映秀镇小学> & 安置点',
      areas: [{ code: '513221100201', name: '渔子溪村 & <中滩堡村>' }],
    };
    const xml = toCapXml(nasty, OPTS);
    expect(xml).toContain('&lt;b&gt;滑坡&lt;/b&gt; &amp; &quot;撤离&quot;');
    expect(xml).not.toContain('\u0007');
    expect(await schemaErrors(xml)).toEqual([]);
    const back = capAlertToWarningContent(parseCapXml(xml), { id: nasty.id });
    expect(back.headline).toBe(nasty.headline);
    expect(back.description).toBe('A < B && C > D ]]> <![CDATA[x]]> bell lone');
    expect(back.instruction).toBe(nasty.instruction);
    expect(back.areas).toEqual(nasty.areas);
  });

  it('refuses what cannot be valid CAP, naming the field', () => {
    const err = (fn: () => unknown): string[] => {
      try {
        fn();
      } catch (e) {
        if (e instanceof CapExportError) return e.issues.map((i) => i.field);
        throw e;
      }
      throw new Error('expected CapExportError');
    };
    expect(err(() => toCapXml(IMMINENT_RED_ALERT, { ...OPTS, sender: 'bad sender,x' }))).toEqual([
      'sender',
    ]);
    expect(err(() => toCapXml({ ...IMMINENT_RED_UPDATE, references: [] }, OPTS))).toEqual([
      'references',
    ]);
    expect(err(() => toCapXml({ ...IMMINENT_RED_UPDATE, references: ['nope'] }, OPTS))).toEqual([
      'references[0]',
    ]);
    expect(
      err(() =>
        toCapXml(
          {
            ...IMMINENT_RED_ALERT,
            nationalId: 'x',
            expires: new Date('x'),
            areas: [{ code: '51a', name: 'x' }],
          },
          OPTS,
        ),
      ),
    ).toEqual(['nationalId', 'expires', 'areas[0].code']);
  });

  it('formats CAP dateTimes in Beijing time and parses any offset', () => {
    expect(toCapDateTime(new Date('2024-07-10T16:05:09.900Z'))).toBe('2024-07-11T00:05:09+08:00');
    expect(parseCapDateTime('2024-07-10T20:30:00+08:00')).toEqual(new Date('2024-07-10T12:30:00Z'));
    expect(parseCapDateTime('2024-07-10T07:30:00-05:00')).toEqual(new Date('2024-07-10T12:30:00Z'));
    expect(parseCapDateTime('2024-07-10T12:30:00Z')).toBeNull();
    expect(parseCapDateTime('2024-02-30T12:30:00+08:00')).toBeNull();
  });
});

describe('CAP 1.2 round trip', () => {
  it.each([
    ['imminent alert', IMMINENT_RED_ALERT],
    ['imminent update', IMMINENT_RED_UPDATE],
    ['imminent cancel', IMMINENT_CANCEL],
    ['meteorological alert', METEO_YELLOW_ALERT],
    ['meteorological cancel', METEO_YELLOW_CANCEL],
    [
      'exercise, blue, rainstorm',
      { ...METEO_YELLOW_ALERT, status: 'exercise', level: 'blue', hazard: 'rainstorm' },
    ],
    ['test, debris flow', { ...IMMINENT_ORANGE_ALERT, status: 'test', hazard: 'debris_flow' }],
  ] as Array<[string, WarningContent]>)(
    'parse(toCapXml(%s)) preserves the fields',
    (_n, content) => {
      const parsed = parseCapXml(toCapXml(content, { ...OPTS, senderName: content.issuer.name }));
      expect(parsed.identifier).toBe(content.nationalId);
      expect(parsed.nationalId?.areaCode).toBe(content.issuer.divisionCode);
      expect(parsed.sent).toEqual(content.sentAt);
      expect(parsed.referenceIds).toEqual(content.references);
      const info = primaryInfo(parsed)!;
      expect(info.kind).toBe(content.kind);
      expect(info.level).toBe(content.level);
      expect(info.hazard).toBe(content.hazard);
      expect(info.areaCodes).toEqual(content.areas.map((a) => a.code));
      expect(capAlertToWarningContent(parsed, { id: content.id })).toEqual(content);
    },
  );
});

/** As a provincial meteorological bureau feed would send it: prefixed namespace, Chinese names. */
const CMA_UPDATE = `<?xml version="1.0" encoding="UTF-8"?>
<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <cap:identifier>51000041600000_20240709180000_1</cap:identifier>
  <cap:sender>sc.cma.gov.cn</cap:sender>
  <cap:sent>2024-07-09T18:00:00+08:00</cap:sent>
  <cap:status>Actual</cap:status>
  <cap:msgType>Update</cap:msgType>
  <cap:scope>Public</cap:scope>
  <cap:references>sc.cma.gov.cn,51000041600000_20240709080000_1,2024-07-09T08:00:00+08:00</cap:references>
  <cap:info>
    <cap:language>zh-CN</cap:language>
    <cap:category>Met</cap:category>
    <cap:category>Geo</cap:category>
    <cap:event>地质灾害气象风险预警</cap:event>
    <cap:responseType>Prepare</cap:responseType>
    <cap:urgency>Expected</cap:urgency>
    <cap:severity>Severe</cap:severity>
    <cap:certainty>Likely</cap:certainty>
    <cap:eventCode>
      <cap:valueName>预警事件类型</cap:valueName>
      <cap:value>地质灾害气象风险</cap:value>
    </cap:eventCode>
    <cap:effective>2024-07-09T20:00:00+08:00</cap:effective>
    <cap:expires>2024-07-10T20:00:00+08:00</cap:expires>
    <cap:senderName>四川省自然资源厅 四川省气象局</cap:senderName>
    <cap:headline>四川省地质灾害气象风险预警由黄色升级为橙色</cap:headline>
    <cap:description>预计7月9日20时至10日20时，阿坝州汶川县、理县等地降雨强度大，发生地质灾害的风险高。</cap:description>
    <cap:instruction>加强巡查，做好人员转移准备。</cap:instruction>
    <cap:parameter>
      <cap:valueName>预警颜色</cap:valueName>
      <cap:value>橙色</cap:value>
    </cap:parameter>
    <cap:parameter>
      <cap:valueName>预警级别</cap:valueName>
      <cap:value>Ⅱ级</cap:value>
    </cap:parameter>
    <cap:area>
      <cap:areaDesc>汶川县</cap:areaDesc>
      <cap:geocode>
        <cap:valueName>行政区划代码</cap:valueName>
        <cap:value>513221</cap:value>
      </cap:geocode>
    </cap:area>
    <cap:area>
      <cap:areaDesc>理县、茂县</cap:areaDesc>
      <cap:polygon>31.4,103.4 31.6,103.5 31.5,103.7 31.4,103.4</cap:polygon>
      <cap:geocode>
        <cap:valueName>GB/T 2260</cap:valueName>
        <cap:value>513222</cap:value>
      </cap:geocode>
      <cap:geocode>
        <cap:valueName>GB/T 2260</cap:valueName>
        <cap:value>513223</cap:value>
      </cap:geocode>
    </cap:area>
  </cap:info>
</cap:alert>`;

const CMA_CANCEL = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>51000041600000_20240710100000_1</identifier>
  <sender>sc.cma.gov.cn</sender>
  <sent>2024-07-10T10:00:00+08:00</sent>
  <status>Actual</status>
  <msgType>Cancel</msgType>
  <scope>Public</scope>
  <references>sc.cma.gov.cn,51000041600000_20240709080000_1,2024-07-09T08:00:00+08:00 sc.cma.gov.cn,51000041600000_20240709180000_1,2024-07-09T18:00:00+08:00</references>
  <info>
    <language>zh-CN</language>
    <category>Geo</category>
    <event>地质灾害气象风险预警</event>
    <responseType>AllClear</responseType>
    <urgency>Past</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <expires>2024-07-10T20:00:00+08:00</expires>
    <senderName>四川省自然资源厅</senderName>
    <headline>解除地质灾害气象风险橙色预警</headline>
    <area><areaDesc>汶川县</areaDesc><geocode><valueName>ADCODE</valueName><value>513221</value></geocode></area>
  </info>
</alert>`;

describe('CAP 1.2 parse of a meteorological bureau feed', () => {
  it('the hand-written samples are valid CAP', async () => {
    expect(await schemaErrors(CMA_UPDATE)).toEqual([]);
    expect(await schemaErrors(CMA_CANCEL)).toEqual([]);
  });

  it('parses an Update referencing an earlier alert', () => {
    const a = parseCapXml(CMA_UPDATE);
    expect(a).toMatchObject({
      identifier: '51000041600000_20240709180000_1',
      sender: 'sc.cma.gov.cn',
      sent: new Date('2024-07-09T10:00:00Z'),
      status: 'actual',
      msgType: 'update',
      scope: 'Public',
      referenceIds: ['51000041600000_20240709080000_1'],
      references: [
        {
          sender: 'sc.cma.gov.cn',
          identifier: '51000041600000_20240709080000_1',
          sent: new Date('2024-07-09T00:00:00Z'),
        },
      ],
    });
    expect(a.nationalId).toMatchObject({ areaCode: '510000', agencyCode: '416', sequence: 1 });
    expect(a.infos).toHaveLength(1);
    const info = a.infos[0]!;
    expect(info).toMatchObject({
      language: 'zh-CN',
      categories: ['Met', 'Geo'],
      kind: 'meteorological_risk',
      level: 'orange',
      hazard: 'geological_composite',
      urgency: 'Expected',
      severity: 'Severe',
      headline: '四川省地质灾害气象风险预警由黄色升级为橙色',
      effective: new Date('2024-07-09T12:00:00Z'),
      expires: new Date('2024-07-10T12:00:00Z'),
      areaCodes: ['513221', '513222', '513223'],
    });
    expect(info.divisions).toEqual([
      { code: '513221', name: '汶川县' },
      { code: '513222', name: '理县、茂县' },
      { code: '513223', name: '理县、茂县' },
    ]);
    expect(info.areas[1]!.polygons).toHaveLength(1);
    const content = capAlertToWarningContent(a);
    expect(content).toMatchObject({
      nationalId: a.identifier,
      version: 2,
      msgType: 'update',
      references: ['51000041600000_20240709080000_1'],
      level: 'orange',
      issuer: { name: '四川省自然资源厅 四川省气象局', divisionCode: '510000', agencyCode: '416' },
    });
  });

  it('parses a Cancel of both versions', () => {
    const a = parseCapXml(CMA_CANCEL);
    expect(a.msgType).toBe('cancel');
    expect(a.referenceIds).toEqual([
      '51000041600000_20240709080000_1',
      '51000041600000_20240709180000_1',
    ]);
    expect(a.infos[0]).toMatchObject({
      level: 'orange',
      kind: 'meteorological_risk',
      responseTypes: ['AllClear'],
    });
  });

  it('accepts a Cancel without info', () => {
    const xml = CMA_CANCEL.replace(/<info>[\s\S]*<\/info>/, '');
    const a = parseCapXml(xml);
    expect(a.infos).toEqual([]);
    expect(() => capAlertToWarningContent(a)).toThrow(/alert\/info: is missing/);
  });

  it('infers imminent from urgency Immediate and the hazard from the event', () => {
    const xml = CMA_UPDATE.replace(
      '<cap:urgency>Expected</cap:urgency>',
      '<cap:urgency>Immediate</cap:urgency>',
    )
      .replace(
        '<cap:event>地质灾害气象风险预警</cap:event>',
        '<cap:event>泥石流临灾预警</cap:event>',
      )
      .replace(/<cap:parameter>[\s\S]*?<\/cap:parameter>\s*/g, '');
    const info = parseCapXml(xml).infos[0]!;
    expect(info).toMatchObject({ kind: 'imminent', hazard: 'debris_flow', level: 'orange' });
  });

  it('accepts a non-national identifier only when asked', () => {
    const xml = CMA_UPDATE.replace(
      '<cap:identifier>51000041600000_20240709180000_1</cap:identifier>',
      '<cap:identifier>CMA-2024-0709-18</cap:identifier>',
    );
    expect(capError(() => parseCapXml(xml)).elements).toEqual(['alert/identifier']);
    const a = parseCapXml(xml, { requireNationalId: false });
    expect(a.identifier).toBe('CMA-2024-0709-18');
    expect(a.nationalId).toBeUndefined();
  });
});

describe('CAP 1.2 parse errors name the element', () => {
  const base = toCapXml(IMMINENT_RED_UPDATE, OPTS);

  it('lists every missing or invalid element', () => {
    const xml = base
      .replace(/<identifier>.*<\/identifier>/, '')
      .replace('<sent>2024-07-10T20:30:00+08:00</sent>', '<sent>2024-07-10 20:30</sent>')
      .replace('<severity>Extreme</severity>', '<severity>Huge</severity>')
      .replace('<urgency>Immediate</urgency>', '')
      .replace('<value>513221100201</value>', '<value>5132-21</value>')
      .replace('<value>red</value>', '<value>purple</value>');
    const e = capError(() => parseCapXml(xml));
    expect(e.elements).toEqual([
      'alert/identifier',
      'alert/sent',
      'alert/info[0]/urgency',
      'alert/info[0]/severity',
      'alert/info[0]/area[0]/geocode[0]/value',
      'alert/info[0]/parameter[color]',
    ]);
    expect(e.message).toContain('alert/identifier: is missing');
    expect(e.message).toContain(
      'alert/info[0]/severity: "Huge" is not one of Extreme, Severe, Moderate, Minor, Unknown',
    );
  });

  it.each([
    ['not XML', 'hello', 'xml'],
    [
      'not well-formed',
      '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</alert>',
      'xml',
    ],
    ['DOCTYPE', '<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY a "b">]><alert/>', 'xml'],
    [
      'wrong namespace',
      base.replace('urn:oasis:names:tc:emergency:cap:1.2', 'urn:oasis:names:tc:emergency:cap:1.1'),
      'alert',
    ],
    ['wrong root', '<warning xmlns="urn:oasis:names:tc:emergency:cap:1.2"/>', 'alert'],
    [
      'Update without references',
      base.replace(/<references>.*<\/references>/, ''),
      'alert/references',
    ],
    [
      'malformed references',
      base.replace(/<references>.*<\/references>/, '<references>a,b</references>'),
      'alert/references[0]',
    ],
    [
      'unsupported status',
      base.replace('<status>Actual</status>', '<status>Draft</status>'),
      'alert/status',
    ],
    [
      'unsupported msgType',
      base.replace('<msgType>Update</msgType>', '<msgType>Ack</msgType>'),
      'alert/msgType',
    ],
    [
      'duplicated sender',
      base.replace('<sender>wenchuan.gov.cn</sender>', '<sender>a</sender><sender>b</sender>'),
      'alert/sender',
    ],
    ['missing scope', base.replace('<scope>Public</scope>', ''), 'alert/scope'],
    [
      'bad category',
      base.replace('<category>Geo</category>', '<category>Landslide</category>'),
      'alert/info[0]/category[0]',
    ],
    [
      'expires before effective',
      base.replace(
        '<expires>2024-07-11T20:30:00+08:00</expires>',
        '<expires>2024-07-09T20:30:00+08:00</expires>',
      ),
      'alert/info[0]/expires',
    ],
    [
      'Alert without info',
      base
        .replace(/<info>[\s\S]*<\/info>/, '')
        .replace('<msgType>Update</msgType>', '<msgType>Alert</msgType>'),
      'alert/info',
    ],
  ])('%s', (_name, xml, element) => {
    const e = capError(() => parseCapXml(xml));
    expect(e.elements).toContain(element);
  });

  it('needs some source for the level', () => {
    const xml = base
      .replace('<severity>Extreme</severity>', '<severity>Unknown</severity>')
      .replace(/<parameter>\s*<valueName>(color|level)<\/valueName>[\s\S]*?<\/parameter>\s*/g, '');
    expect(capError(() => parseCapXml(xml)).elements).toEqual(['alert/info[0]/severity']);
  });

  it('rejects contradicting colour and level parameters', () => {
    const xml = base.replace(/(<valueName>level<\/valueName>\s*<value>)1</, '$13<');
    expect(capError(() => parseCapXml(xml)).elements).toEqual(['alert/info[0]/parameter[level]']);
  });
});

describe('issue 9: an imported warning keeps its issuer, a cancel its own texts', () => {
  const GATEWAY = { sender: 'gateway.513221', senderName: '汶川县自然资源局' };
  const imported: WarningContent = {
    ...METEO_YELLOW_ALERT,
    nationalId: '51000041600000_20240709080000_1',
  };
  const originalSenders = { [imported.nationalId]: 'sc.cma.gov.cn' };

  it('exports an imported warning with its original sender and identifier, the gateway in note', async () => {
    const xml = toCapXml(imported, { ...GATEWAY, originalSenders });
    expect(xml).toContain('<identifier>51000041600000_20240709080000_1</identifier>');
    expect(xml).toContain('<sender>sc.cma.gov.cn</sender>');
    expect(xml).not.toContain('<sender>gateway.513221</sender>');
    expect(xml).toContain('<note>Relayed by gateway.513221 (预警叫应网关 warning gateway)</note>');
    expect(await schemaErrors(xml)).toEqual([]);
    const back = parseCapXml(xml);
    expect(back.sender).toBe('sc.cma.gov.cn');
    expect(back.note).toContain('gateway.513221');
  });

  it('an update issued here to an imported warning references the original issuer', async () => {
    const update: WarningContent = {
      ...imported,
      nationalId: '51322141600000_20240709200000_1',
      version: 2,
      msgType: 'update',
      references: [imported.nationalId],
      sentAt: new Date('2024-07-09T12:00:00Z'),
    };
    const xml = toCapXml(update, { ...GATEWAY, originalSenders });
    expect(xml).toContain('<sender>gateway.513221</sender>');
    expect(xml).not.toContain('<note>');
    expect(xml).toContain(
      '<references>sc.cma.gov.cn,51000041600000_20240709080000_1,2024-07-09T08:00:00+08:00</references>',
    );
    expect(await schemaErrors(xml)).toEqual([]);
    expect(parseCapXml(xml).references[0]!.sender).toBe('sc.cma.gov.cn');
    // Without imported messages nothing changes: the gateway is the sender throughout.
    expect(toCapXml(IMMINENT_RED_UPDATE, GATEWAY)).toContain(
      '<references>gateway.513221,51322141600000_20240710183000_1,',
    );
  });

  it('a CAP Cancel carries its own reason, never the referenced alert texts', () => {
    const xml = CMA_CANCEL.replace(
      '<headline>解除地质灾害气象风险橙色预警</headline>',
      '<headline>解除地质灾害气象风险橙色预警</headline><description>降雨过程已结束</description>',
    );
    const referenced: WarningContent = {
      ...METEO_YELLOW_ALERT,
      instruction: '请立即撤离危险区域群众',
    };
    const c = capAlertToWarningContent(parseCapXml(xml), { referenced });
    expect(c.description).toBe('降雨过程已结束');
    expect(c.instruction).toBe('');
    expect(capCancelReason(parseCapXml(xml))).toBe('降雨过程已结束');
    // A Cancel without info: its note is the reason, the rest comes from the warning it cancels.
    const bare = CMA_CANCEL.replace(/<info>[\s\S]*<\/info>/, '').replace(
      '<scope>Public</scope>',
      '<scope>Public</scope>\n  <note>误发，重复预警，予以解除</note>',
    );
    const n = capAlertToWarningContent(parseCapXml(bare), { referenced });
    expect(n).toMatchObject({
      msgType: 'cancel',
      description: '误发，重复预警，予以解除',
      instruction: '',
      level: referenced.level,
      areas: referenced.areas,
    });
    expect(JSON.stringify(n)).not.toContain('立即撤离');
    expect(JSON.stringify(n)).not.toContain(referenced.description);
  });
});
