/* Duty console, the response-time histogram (entry into the chain → answer). */
import { $, api, clear, el, errorText, requireToken, secs, state, t, watchedId } from './core';
import { itemsOf, type Listing, type PersonRow } from './types';

function niceStep(raw: number): number {
  const steps = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400,
  ];
  for (const s of steps) if (s >= raw) return s;
  return Math.ceil(raw / 86400) * 86400;
}

function durLabel(x: number): string {
  const zh = state.lang === 'zh';
  if (x < 120) return x + t('seconds');
  if (x < 7200) return Math.round(x / 60) + (zh ? '分' : 'min');
  return Math.round(x / 3600) + (zh ? '时' : 'h');
}

/** Seconds from a person's entry into the chain to their answer (as the summary's median and p90). */
function responseSeconds(p: PersonRow): number | null {
  if (typeof p.entryToAnswer === 'number') return p.entryToAnswer;
  if (typeof p.entryToAnswerSeconds === 'number') return p.entryToAnswerSeconds;
  return typeof p.issueToAnswer === 'number' ? p.issueToAnswer : null;
}

/**
 * An inline SVG histogram of response times (entry → answer, `entryToAnswer`); people without an
 * answer are counted beside it; the summary's median and p90 are marked.
 */
export function renderHistogram(rows: PersonRow[]): void {
  const svgNs = 'http://www.w3.org/2000/svg';
  const box = $('histogram');
  clear(box);
  const vals: number[] = [];
  let missing = 0;
  for (const p of rows) {
    const v = responseSeconds(p);
    if (v !== null) vals.push(v);
    else missing++;
  }
  const rsum = state.lastSummary?.responses?.responseSeconds ?? {};
  box.setAttribute('data-field', 'entryToAnswer');
  box.appendChild(
    el('div', {
      class: 'legend',
      id: 'histogram-summary',
      text:
        `${t('entryHistogram')} · ${t('answered')} ${vals.length} · ${t('notAnswered')} ${missing}` +
        (typeof rsum.median === 'number' ? ` · ${t('median')} ${secs(rsum.median)}` : '') +
        (typeof rsum.p90 === 'number' ? ` · ${t('p90')} ${secs(rsum.p90)}` : ''),
    }),
  );
  if (!vals.length) return;
  const max = Math.max(...vals);
  const bins = 10;
  const step = niceStep(Math.max(max, 1) / bins);
  const n = Math.min(bins, Math.floor(max / step) + 1);
  const counts = new Array<number>(n).fill(0);
  for (const v of vals) counts[Math.min(n - 1, Math.floor(v / step))]++;
  const top = Math.max(...counts);
  const w = 600;
  const h = 160;
  const padL = 30;
  const padB = 22;
  const padT = 14;
  const bw = (w - padL - 5) / n;
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  svg.setAttribute('class', 'hist');
  const node = (name: string, attrs: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(svgNs, name);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    svg.appendChild(e);
    return e;
  };
  node('line', { x1: padL, y1: h - padB, x2: w - 5, y2: h - padB, stroke: '#66727f' });
  node('text', { x: 2, y: padT, 'text-anchor': 'start' }, String(top));
  counts.forEach((c, j) => {
    const bh = top ? (c / top) * (h - padB - padT) : 0;
    const x = padL + j * bw + 1;
    const r = node('rect', {
      x: x.toFixed(1),
      y: (h - padB - bh).toFixed(1),
      width: (bw - 2).toFixed(1),
      height: bh.toFixed(1),
      class: 'bar',
      'data-count': c,
    });
    const title = document.createElementNS(svgNs, 'title');
    title.textContent = `${durLabel(j * step)}–${durLabel((j + 1) * step)}: ${c}`;
    r.appendChild(title);
    if (c) {
      node(
        'text',
        {
          x: (x + bw / 2 - 1).toFixed(1),
          y: (h - padB - bh - 2).toFixed(1),
          'text-anchor': 'middle',
        },
        String(c),
      );
    }
    node('text', { x: x.toFixed(1), y: h - 6, 'text-anchor': 'start' }, durLabel(j * step));
  });
  const marks: ['median' | 'p90', number | null | undefined, string][] = [
    ['median', rsum.median, '#2e7d32'],
    ['p90', rsum.p90, '#c62828'],
  ];
  for (const [name, at, colour] of marks) {
    if (typeof at !== 'number') continue;
    const mx = padL + Math.min(at / (n * step), 1) * (w - padL - 5);
    node('line', {
      x1: mx.toFixed(1),
      y1: padT,
      x2: mx.toFixed(1),
      y2: h - padB,
      stroke: colour,
      'stroke-dasharray': '4 3',
      class: `mark-${name}`,
    });
    node(
      'text',
      { x: (mx + 2).toFixed(1), y: padT + (name === 'p90' ? 10 : 0), 'text-anchor': 'start' },
      t(name === 'median' ? 'medianLine' : 'p90Line'),
    );
  }
  box.insertBefore(svg, box.firstChild);
}

async function loadHistogram(): Promise<void> {
  const id = watchedId();
  if (!requireToken() || !id) return;
  const r = await api<Listing<PersonRow>>(
    'GET',
    `/v1/warnings/${encodeURIComponent(id)}/responses?limit=1000`,
  );
  if (r.status !== 200) {
    clear($('histogram'));
    $('histogram').appendChild(el('p', { class: 'bad', text: errorText(r) }));
    return;
  }
  renderHistogram(itemsOf(r.body));
}

export function initHistogram(): void {
  $('hist-btn').addEventListener('click', () => void loadHistogram());
}
