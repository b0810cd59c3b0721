import { escapeHtml } from './email';
import { enDateTime, listPlaces, zhDateTime } from './format';
import { renderReceivedLink } from './received';
import { statusMark } from './policy';
import {
  LEVEL_NAMES_EN,
  LEVEL_NAMES_ZH,
  type WarningContent,
  type WarningLevel,
} from '../common/domain/warning.types';
import type { DeliveryState } from '../modules/chain/answers.service';

/**
 * The pages behind a signed confirmation link (/c/:token): plain server-rendered HTML, Chinese
 * first and English below, every value escaped, no script (helmet is on; nothing to run).
 */
export interface LinkView {
  personName: string;
  level: WarningLevel;
  content: WarningContent;
  warningState: 'active' | 'cancelled' | 'expired';
  state: DeliveryState;
  /** First answer time (confirm or help). */
  answeredAt: Date | null;
}

const STYLE = `
body{margin:0;font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;background:#f4f5f7;color:#1d1f23;line-height:1.5}
main{max-width:34rem;margin:0 auto;padding:1.25rem}
.card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}
h1{font-size:1.35rem;margin:.25rem 0 .75rem}
.level{display:inline-block;color:#fff;border-radius:.35rem;padding:.1rem .6rem;font-weight:600}
.red{background:#c40000}.orange{background:#d96a00}.yellow{background:#b89300}.blue{background:#0a5fd6}
dl{margin:.75rem 0}dt{color:#5b6068;font-size:.85rem}dd{margin:0 0 .5rem}
.note{padding:.75rem;border-radius:.5rem;background:#eef6ee;margin:.75rem 0}
.note.warn{background:#fff4e5}.note.bad{background:#fdecec}
form{display:flex;gap:.75rem;margin-top:1rem;flex-wrap:wrap}
button{flex:1;min-width:9rem;font-size:1.15rem;padding:.9rem;border:0;border-radius:.5rem;color:#fff;cursor:pointer}
button small{display:block;font-size:.8rem;opacity:.9}
.confirm{background:#1a7f37}.help{background:#c40000}
.en{color:#4b5058;font-size:.92rem;border-top:1px solid #e2e4e8;margin-top:1.25rem;padding-top:.75rem}
`;

function page(status: string, body: string): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex,nofollow">
<title>${escapeHtml(status)}</title>
<style>${STYLE}</style></head>
<body><main><div class="card">
${body}
</div></main></body></html>
`;
}

const esc = escapeHtml;

function places(c: WarningContent): string {
  const names = [...c.hazardPoints, ...c.riskZones, ...c.areas].map((p) => p.name);
  return names.length ? listPlaces(names, 'zh-CN', 5) : '';
}

function facts(v: LinkView): { zh: string; en: string } {
  const c = v.content;
  const place = places(c);
  // A drill or a test says so first, as every other text of it does.
  const zhTag = statusMark(c.status, 'zh-CN')?.tag ?? '';
  const enTag = statusMark(c.status, 'en')?.tag;
  const zh =
    `<p><span class="level ${esc(v.level)}">${esc(LEVEL_NAMES_ZH[v.level])}</span></p>` +
    `<h1>${esc(zhTag)}${esc(c.headline)}</h1><dl>` +
    (place ? `<dt>地点</dt><dd>${esc(place)}</dd>` : '') +
    (c.instruction ? `<dt>措施</dt><dd>${esc(c.instruction)}</dd>` : '') +
    `<dt>接收人</dt><dd>${esc(v.personName)}</dd></dl>`;
  const en =
    `<p><strong>${enTag ? `${esc(enTag)} ` : ''}${esc(c.headline)}</strong><br>Level: ${esc(LEVEL_NAMES_EN[v.level])}` +
    (place ? `<br>Place: ${esc(place)}` : '') +
    `<br>Recipient: ${esc(v.personName)}</p>`;
  return { zh, en };
}

/** Where the person stands, when they have answered already or the notice was withdrawn. */
function standing(v: LinkView): { zh: string; en: string; cls: string } | undefined {
  const at = v.answeredAt;
  if (v.state === 'confirmed') {
    return {
      cls: '',
      zh: `您已${at ? `于${esc(zhDateTime(at))}` : ''}确认收到此预警，无需再次确认。如情况有变需要支援，请直接联系当地值班人员。`,
      en: `You already confirmed receipt of this warning${at ? ` at ${esc(enDateTime(at))}` : ''}. If you now need help, call the local duty officer directly.`,
    };
  }
  if (v.state === 'declined') {
    return {
      cls: 'warn',
      zh: `您已${at ? `于${esc(zhDateTime(at))}` : ''}请求支援，值班人员将尽快与您联系，请保持电话畅通，注意安全。`,
      en: `You asked for help${at ? ` at ${esc(enDateTime(at))}` : ''}; the duty officer will contact you. Keep your phone on and stay safe.`,
    };
  }
  if (v.state === 'cancelled') {
    return {
      cls: 'warn',
      zh: '此预警通知已取消，无需确认。',
      en: 'This warning notice was withdrawn; there is nothing to confirm.',
    };
  }
  return undefined;
}

const FORM = `<form method="post">
<button class="confirm" type="submit" name="answer" value="confirm">确认收到<small>Confirm receipt</small></button>
<button class="help" type="submit" name="answer" value="help">请求支援<small>Request help</small></button>
</form>`;

/** GET: the warning and, while the person has not answered, the two buttons. Changes nothing. */
export function confirmPage(v: LinkView, error?: { zh: string; en: string }): string {
  const f = facts(v);
  const s = standing(v);
  const cancelled =
    v.warningState === 'cancelled' && !s
      ? `<p class="note warn">此预警已解除。<br><span lang="en">This warning has been cancelled.</span></p>`
      : '';
  const problem = error
    ? `<p class="note bad">${esc(error.zh)}<br><span lang="en">${esc(error.en)}</span></p>`
    : '';
  const body = s
    ? `<p class="note ${s.cls}">${s.zh}</p>`
    : `${cancelled}${problem}<p>请确认您已收到此预警；如需帮助，请点击“请求支援”。</p>${FORM}`;
  const en = s
    ? `<p>${s.en}</p>`
    : `<p>Please confirm that you received this warning, or request help.</p>`;
  return page(
    '预警确认 Warning confirmation',
    `${f.zh}${body}<section class="en" lang="en"><p><strong>Warning confirmation</strong></p>${f.en}${en}</section>`,
  );
}

/** After POST: what the answer did. */
export function resultPage(
  v: LinkView,
  answer: 'confirm' | 'help',
  r: { effective: boolean },
): string {
  const f = facts(v);
  let zh: string;
  let en: string;
  let cls = '';
  if (r.effective && answer === 'confirm') {
    zh = '已确认收到，谢谢！请按预警要求做好防范。';
    en = 'Receipt confirmed. Thank you; please follow the warning’s instructions.';
  } else if (r.effective) {
    cls = 'warn';
    zh = '已收到您的支援请求，值班人员将尽快与您联系，请保持电话畅通，注意安全。';
    en =
      'Your request for help has been received; the duty officer will contact you shortly. Keep your phone on and stay safe.';
  } else {
    const s = standing(v);
    cls = s?.cls ?? '';
    zh = s?.zh ?? '已记录您的回复。';
    en = s?.en ?? 'Your answer has been recorded.';
  }
  return page(
    '预警确认 Warning confirmation',
    `${f.zh}<p class="note ${cls}">${zh}</p><section class="en" lang="en">${f.en}<p>${en}</p></section>`,
  );
}

/** A link that cannot be used: expired (410) or not valid (404). */
export function linkProblemPage(reason: 'expired' | 'invalid'): string {
  const zh =
    reason === 'expired'
      ? '此确认链接已过期。如需确认或请求支援，请直接联系当地值班人员。'
      : '此确认链接无效。请检查链接是否完整，或直接联系当地值班人员。';
  const en =
    reason === 'expired'
      ? 'This confirmation link has expired. To confirm or ask for help, call the local duty officer.'
      : 'This confirmation link is not valid. Check that it is complete, or call the local duty officer.';
  const title = reason === 'expired' ? '链接已过期 Link expired' : '链接无效 Invalid link';
  return page(
    title,
    `<h1>${reason === 'expired' ? '链接已过期' : '链接无效'}</h1><p class="note bad">${zh}</p>` +
      `<section class="en" lang="en"><p><strong>${reason === 'expired' ? 'Link expired' : 'Invalid link'}</strong></p><p>${en}</p></section>`,
  );
}

/**
 * After POST while the database is unreachable: the answer is kept and recorded once it is back,
 * so the page says it was received (src/templates/received.ts); the warning cannot be shown.
 */
export function receivedPage(answer: 'confirm' | 'help'): string {
  const t = renderReceivedLink(answer);
  return page(
    '预警确认 Warning confirmation',
    `<p class="note${answer === 'help' ? ' warn' : ''}">${esc(t.zh)}</p>` +
      `<section class="en" lang="en"><p><strong>Warning confirmation</strong></p><p>${esc(t.en)}</p></section>`,
  );
}
