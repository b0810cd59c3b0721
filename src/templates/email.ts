/**
 * E-mail: subject, plain text and HTML, carrying every legally required element and the
 * recipient's confirm link. All interpolated values are HTML-escaped; the confirm link is only
 * rendered for http(s) URLs.
 */
import { droppedSentence, greeting, referencedPhrase, tagOf } from './common';
import {
  article,
  fieldLines,
  LEVEL_CSS,
  listPlaces,
  WarningFacts,
  warningFacts,
  warningFields,
} from './format';
import type { EmailContext, EmailMessage, TemplateTable } from './types';

export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const httpUrl = (u?: string): string | undefined => (u && /^https?:\/\//i.test(u) ? u : undefined);

function subject(f: WarningFacts): string {
  const en = f.locale === 'en';
  const places = listPlaces(f.places, f.locale, 3);
  if (f.dropped) {
    const tag = en ? '[WARNING AREA CHANGED] ' : '【预警范围调整】';
    const what = en ? `no longer within the ${f.dropped.title}` : `不再列入${f.dropped.title}范围`;
    return `${tagOf(f)}${tag}${[places, what].join(en ? ' ' : '')}${en ? ' - ' : '｜'}${f.issuer}`;
  }
  const tag = en
    ? {
        alert: `[${f.colour.toUpperCase()} WARNING]`,
        update: '[WARNING UPDATE]',
        cancel: '[WARNING CANCELLED]',
      }[f.w.msgType]
    : { alert: `【${f.colour}预警】`, update: '【预警更新】', cancel: '【预警解除】' }[f.w.msgType];
  const what = en ? `${f.title}, ${f.level}` : `${f.title}（${f.rank}）`;
  const sep = en ? ' - ' : '｜';
  return `${tagOf(f)}${[`${tag}${en ? ' ' : ''}${what}`, places, f.issuer].filter(Boolean).join(sep)}`;
}

function lead(f: WarningFacts): string {
  const en = f.locale === 'en';
  if (f.dropped) return droppedSentence(f, true);
  switch (f.w.msgType) {
    case 'alert':
      return en
        ? `${f.issuer} has issued ${article(f.title)}.`
        : `${f.issuer}发布${f.title}，请立即按预案做好防范和叫应工作。`;
    case 'update':
      return en
        ? `${f.issuer} has updated the ${f.title}: ${f.change?.text ?? ''}.`
        : `${f.issuer}更新${f.title}：${f.change?.text ?? ''}。`;
    case 'cancel':
      return en
        ? `The ${f.title} ${referencedPhrase(f)} is cancelled.`
        : `${referencedPhrase(f)}${f.title}现予解除。`;
  }
}

function confirmText(f: WarningFacts): string {
  const en = f.locale === 'en';
  const url = httpUrl(f.confirmUrl);
  if (url) return en ? `Confirm receipt: ${url}` : `请点击链接确认收到：${url}`;
  return en
    ? 'Please confirm receipt by replying to the SMS or the call.'
    : '请通过短信回复或电话按键确认收到。';
}

function renderEmail(ctx: EmailContext): EmailMessage {
  const f = warningFacts(ctx);
  const en = f.locale === 'en';
  const fields = warningFields(f).filter(([, v]) => v && v.trim());
  const footer = en
    ? 'Sent automatically by the warning dispatch and call-response system. Do not reply to this e-mail.'
    : '本邮件由预警发布与叫应系统自动发送，请勿直接回复。';
  const hello = greeting(f);

  // A drill or test says so on the first line.
  const markLine = f.mark ? `${tagOf(f)}${f.mark.spoken}` : '';
  const text = [
    markLine,
    hello ? hello.replace(/[：:]\s*$/, en ? ',' : '：') : '',
    lead(f),
    '',
    ...fieldLines(fields, f.locale),
    '',
    confirmText(f),
    '',
    footer,
  ]
    .filter((l, i, a) => !(l === '' && (i === 0 || a[i - 1] === '')))
    .join('\n')
    .trim();

  const colour = f.w.msgType === 'cancel' ? '#2e7d32' : LEVEL_CSS[f.w.level];
  const textColour = f.w.level === 'yellow' && f.w.msgType !== 'cancel' ? '#222' : '#fff';
  const url = httpUrl(f.confirmUrl);
  const rows = fields
    .map(
      ([k, v]) =>
        `<tr><th style="text-align:left;vertical-align:top;padding:4px 12px 4px 0;white-space:nowrap">${escapeHtml(k)}</th>` +
        `<td style="padding:4px 0">${escapeHtml(v!.trim()).replace(/\n/g, '<br>')}</td></tr>`,
    )
    .join('\n');
  const button = url
    ? `<p><a href="${escapeHtml(url)}" style="display:inline-block;padding:10px 20px;background:${colour};color:${textColour};text-decoration:none;border-radius:4px">${escapeHtml(en ? 'Confirm receipt' : '确认收到')}</a></p>`
    : `<p>${escapeHtml(confirmText(f))}</p>`;
  const html = [
    '<!DOCTYPE html>',
    `<html lang="${en ? 'en' : 'zh-CN'}"><head><meta charset="utf-8"><title>${escapeHtml(subject(f))}</title></head>`,
    '<body style="font-family:sans-serif;line-height:1.5;color:#222">',
    `<div style="background:${colour};color:${textColour};padding:12px 16px;font-size:18px;font-weight:bold">${escapeHtml(
      tagOf(f) +
        (f.dropped
          ? en
            ? `Warning area changed: ${f.dropped.title}`
            : `预警范围调整：${f.dropped.title}`
          : f.w.msgType === 'cancel'
            ? en
              ? `Cancelled: ${f.title}`
              : `解除${f.title}`
            : `${f.title} ${f.level}`),
    )}</div>`,
    markLine ? `<p><strong>${escapeHtml(markLine)}</strong></p>` : '',
    hello ? `<p>${escapeHtml(hello.replace(/[：:]\s*$/, en ? ',' : '：'))}</p>` : '',
    `<p>${escapeHtml(lead(f))}</p>`,
    `<table style="border-collapse:collapse">\n${rows}\n</table>`,
    button,
    `<p style="color:#888;font-size:12px">${escapeHtml(footer)}</p>`,
    '</body></html>',
  ]
    .filter(Boolean)
    .join('\n');
  return { subject: subject(f), text, html };
}

export const emailTemplates: TemplateTable<EmailContext, EmailMessage> = {
  'zh-CN': {
    imminent: { alert: renderEmail, update: renderEmail, cancel: renderEmail },
    meteorological_risk: { alert: renderEmail, update: renderEmail, cancel: renderEmail },
  },
  en: {
    imminent: { alert: renderEmail, update: renderEmail, cancel: renderEmail },
    meteorological_risk: { alert: renderEmail, update: renderEmail, cancel: renderEmail },
  },
};
