import { escapeHtml } from '../../templates/email';
import { enDateTime, zhDateTime } from '../../templates/format';
import type { HazardGrade } from '../../common/domain/hazard-grade';

/**
 * The pages behind a report notice's signed link (/c/h/:token): plain server-rendered HTML, Chinese
 * first and English below, every value escaped, no script. GET shows the report and one button;
 * POST (the button) acknowledges.
 */
export interface HazardAckLinkView {
  reportId: string;
  /** The duty office the notice went to. */
  level: 'county' | 'city';
  recipient: string;
  placeName: string;
  grade: HazardGrade;
  peopleThreatened: number;
  observed: string;
  reporter: string;
  createdAt: Date;
  cityDeadline: Date | null;
  /** That level's acknowledgement, once given (by anyone of it, by any channel). */
  acknowledged: { by: string; at: Date; channel: string } | null;
}

const EN_GRADE: Record<HazardGrade, string> = {
  特大型: 'very large',
  大型: 'large',
  中型: 'medium',
  小型: 'small',
};
const LEVEL_ZH = { county: '县级值班室', city: '市级值班室' } as const;
const LEVEL_EN = { county: 'county duty office', city: 'city duty office' } as const;

const STYLE = `
body{margin:0;font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f4f5f7;color:#1d1f23;line-height:1.5}
main{max-width:34rem;margin:0 auto;padding:1.25rem}
.card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:.25rem 0 .75rem}
.grade{display:inline-block;color:#fff;background:#c40000;border-radius:.35rem;padding:.1rem .6rem;font-weight:600}
dl{margin:.75rem 0}dt{color:#5b6068;font-size:.85rem}dd{margin:0 0 .5rem}
.note{padding:.75rem;border-radius:.5rem;background:#eef6ee;margin:.75rem 0}.note.bad{background:#fdecec}
form{margin-top:1rem}
button{width:100%;font-size:1.2rem;padding:1rem;border:0;border-radius:.5rem;color:#fff;background:#1a7f37;cursor:pointer}
button small{display:block;font-size:.8rem;opacity:.9}
.en{color:#4b5058;font-size:.92rem;border-top:1px solid #e2e4e8;margin-top:1.25rem;padding-top:.75rem}
`;

const esc = escapeHtml;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow">
<title>${esc(title)}</title>
<style>${STYLE}</style></head>
<body><main><div class="card">
${body}
</div></main></body></html>
`;
}

function facts(v: HazardAckLinkView): { zh: string; en: string } {
  const zh =
    `<p><span class="grade">${esc(v.grade)}险情</span></p>` +
    `<h1>${esc(v.placeName)}</h1><dl>` +
    `<dt>受威胁人数</dt><dd>${v.peopleThreatened}人</dd>` +
    `<dt>险情</dt><dd>${esc(v.observed)}</dd>` +
    `<dt>报告人</dt><dd>${esc(v.reporter)}，${esc(zhDateTime(v.createdAt))}</dd>` +
    (v.cityDeadline ? `<dt>报至市级时限</dt><dd>${esc(zhDateTime(v.cityDeadline))}前</dd>` : '') +
    `<dt>接报单位</dt><dd>${LEVEL_ZH[v.level]}（${esc(v.recipient)}）</dd>` +
    `<dt>报告号</dt><dd>${esc(v.reportId.slice(0, 8))}</dd></dl>`;
  const en =
    `<p><strong>Hazard report: ${esc(EN_GRADE[v.grade])}, ${v.peopleThreatened} people threatened</strong>` +
    `<br>Place: ${esc(v.placeName)}<br>Reported at ${esc(enDateTime(v.createdAt))}` +
    (v.cityDeadline ? `<br>Must reach the city by ${esc(enDateTime(v.cityDeadline))}` : '') +
    `<br>For: ${LEVEL_EN[v.level]} (${esc(v.recipient)})</p>`;
  return { zh, en };
}

function done(v: HazardAckLinkView): { zh: string; en: string } | undefined {
  const a = v.acknowledged;
  if (!a) return undefined;
  return {
    zh: `${LEVEL_ZH[v.level]}已由${esc(a.by)}于${esc(zhDateTime(a.at))}确认接报，无需再次确认。`,
    en: `The ${LEVEL_EN[v.level]} acknowledged this report (${esc(a.by)}, ${esc(enDateTime(a.at))}); nothing more to do.`,
  };
}

const FORM = `<form method="post">
<button type="submit" name="ack" value="1">确认接报<small>Acknowledge the report</small></button>
</form>`;

/** GET: the report and, until its level has acknowledged, the one button. Changes nothing. */
export function hazardAckPage(v: HazardAckLinkView): string {
  const f = facts(v);
  const d = done(v);
  const zh = d
    ? `<p class="note">${d.zh}</p>`
    : `<p>请确认${LEVEL_ZH[v.level]}已接报此险情：</p>${FORM}`;
  const en = d
    ? `<p>${d.en}</p>`
    : `<p>Please acknowledge that your duty office has the report.</p>`;
  return page(
    '险情接报确认 Hazard report acknowledgement',
    `${f.zh}${zh}<section class="en" lang="en">${f.en}${en}</section>`,
  );
}

/** After POST: acknowledged now, or already before. */
export function hazardAckResultPage(v: HazardAckLinkView, recorded: boolean): string {
  const f = facts(v);
  const a = v.acknowledged;
  const at = a ? a.at : new Date();
  const zh = recorded
    ? `<p class="note">已确认接报（${LEVEL_ZH[v.level]}，${esc(zhDateTime(at))}）。请立即组织核查处置。</p>`
    : `<p class="note">${done(v)?.zh ?? '已确认接报。'}</p>`;
  const en = recorded
    ? `<p>Acknowledged for the ${LEVEL_EN[v.level]} at ${esc(enDateTime(at))}. Please act on the report now.</p>`
    : `<p>${done(v)?.en ?? 'Acknowledged.'}</p>`;
  return page(
    '险情接报确认 Hazard report acknowledgement',
    `${f.zh}${zh}<section class="en" lang="en">${f.en}${en}</section>`,
  );
}

/** An expired or unknown link. */
export function hazardLinkProblemPage(reason: 'expired' | 'invalid'): string {
  const zh =
    reason === 'expired'
      ? '此确认链接已过期。请回复短信“险情1”或致电值班室确认接报。'
      : '此确认链接无效。请回复短信“险情1”或致电值班室确认接报。';
  const en =
    reason === 'expired'
      ? 'This acknowledgement link has expired. Reply “险情1” by SMS or call the duty office.'
      : 'This acknowledgement link is not valid. Reply “险情1” by SMS or call the duty office.';
  return page(
    '险情接报确认 Hazard report acknowledgement',
    `<p class="note bad">${zh}</p><section class="en" lang="en"><p>${en}</p></section>`,
  );
}
