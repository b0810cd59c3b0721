/* Duty console, the audit tab (a person's chain, exports, audit verification, period report) and the grid lookup. */
import {
  $,
  api,
  clear,
  el,
  errorText,
  flash,
  label,
  pct,
  requireToken,
  roleName,
  secs,
  shade,
  t,
  token,
  type UiKey,
} from './core';
import type { ApiError } from './types';

/* ---------- period report ---------- */
function dayIso(v: string, endOfDay = false): string {
  if (!v) return '';
  let d = new Date(`${v}T00:00:00`);
  if (endOfDay) d = new Date(d.getTime() + 24 * 3600e3);
  return d.toISOString();
}

interface PeriodGroup {
  key: string | null;
  name?: string | null;
  targeted: number;
  coverage: number | null;
  confirmationRate: number | null;
  medianSeconds: number | null;
  p90Seconds: number | null;
}

interface PeriodReport {
  groupBy: string;
  groups?: PeriodGroup[];
  totals?: {
    warnings?: number;
    targeted?: number;
    coverage?: number | null;
    confirmationRate?: number | null;
    responseSeconds?: { median?: number | null; p90?: number | null };
  };
}

const val = (id: string) => $<HTMLInputElement | HTMLSelectElement>(id).value;

async function openPeriod(ev: Event): Promise<void> {
  ev.preventDefault();
  if (!requireToken()) return;
  const q = [
    `status=${encodeURIComponent(val('period-status'))}`,
    `groupBy=${encodeURIComponent(val('period-group'))}`,
  ];
  const from = dayIso(val('period-from'));
  const to = dayIso(val('period-to'), true);
  if (from) q.push(`from=${encodeURIComponent(from)}`);
  if (to) q.push(`to=${encodeURIComponent(to)}`);
  const r = await api<PeriodReport>('GET', `/v1/reports/period?${q.join('&')}`);
  const tbl = $('period-table');
  clear(tbl);
  const tot = $('period-totals');
  if (r.status !== 200) {
    tot.textContent = errorText(r);
    tot.className = 'bad';
    flash(errorText(r), 'bad');
    return;
  }
  const x = r.body.totals ?? {};
  const rs = x.responseSeconds ?? {};
  tot.className = 'muted';
  tot.textContent =
    `${t('warnings')} ${x.warnings ?? 0} · ${t('targeted')} ${x.targeted ?? 0} · ` +
    `${t('coverage')} ${pct(x.coverage)} · ${t('confirmationRate')} ${pct(x.confirmationRate)}` +
    ` · ${t('median')} ${secs(rs.median)} · ${t('p90')} ${secs(rs.p90)}`;
  const heads: UiKey[] = ['group', 'targeted', 'coverage', 'confirmationRate', 'median', 'p90'];
  tbl.appendChild(
    el(
      'tr',
      null,
      heads.map((k) => el('th', { text: t(k) })),
    ),
  );
  const byRole = r.body.groupBy === 'role';
  for (const g of r.body.groups ?? []) {
    let name = byRole ? roleName(g.key) : g.name || g.key || t('g_none');
    if (g.name && g.key && !byRole) name += ` (${g.key})`;
    tbl.appendChild(
      el('tr', { class: `group-row ${shade(g.confirmationRate ?? 0)}`, 'data-key': g.key ?? '' }, [
        el('td', { text: name }),
        el('td', { class: 'num', text: String(g.targeted) }),
        el('td', { class: 'num', text: pct(g.coverage) }),
        el('td', { class: 'num', text: pct(g.confirmationRate) }),
        el('td', { class: 'num', text: secs(g.medianSeconds) }),
        el('td', { class: 'num', text: secs(g.p90Seconds) }),
      ]),
    );
  }
  tbl.appendChild(
    el('tr', { class: 'total' }, [
      el('td', { text: t('total') }),
      el('td', { class: 'num', text: String(x.targeted ?? 0) }),
      el('td', { class: 'num', text: pct(x.coverage) }),
      el('td', { class: 'num', text: pct(x.confirmationRate) }),
      el('td', { class: 'num', text: secs(rs.median) }),
      el('td', { class: 'num', text: secs(rs.p90) }),
    ]),
  );
}

/* ---------- a person's chain ---------- */
interface ChainEvent {
  at: string;
  type: string;
  [k: string]: unknown;
}

interface ChainDetail {
  person?: { name?: string; role?: string; state?: string };
  chain?: { name?: string; role?: string; state?: string };
  events?: ChainEvent[];
  timeline?: ChainEvent[];
}

async function openChain(ev: Event): Promise<void> {
  ev.preventDefault();
  const wid = val('audit-wid').trim();
  const pid = val('audit-pid').trim();
  if (!requireToken() || !wid || !pid) return;
  const r = await api<ChainDetail>(
    'GET',
    `/v1/warnings/${encodeURIComponent(wid)}/chains/${encodeURIComponent(pid)}`,
  );
  const ol = $('timeline');
  clear(ol);
  if (r.status !== 200) {
    flash(errorText(r), 'bad');
    return;
  }
  flash('');
  const head = r.body.person ?? r.body.chain ?? {};
  if (head.name) {
    ol.appendChild(
      el('li', {
        class: 'head',
        text: [head.name, roleName(head.role), label('deliveryStates', head.state)]
          .filter(Boolean)
          .join(' · '),
      }),
    );
  }
  const events = (r.body.events ?? r.body.timeline ?? [])
    .slice()
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  for (const e of events) {
    const rest = Object.keys(e)
      .filter((k) => k !== 'at' && k !== 'type' && e[k] !== null && e[k] !== undefined)
      .map((k) => `${k}=${typeof e[k] === 'object' ? JSON.stringify(e[k]) : String(e[k])}`)
      .join(' ');
    ol.appendChild(
      el('li', { class: `ev ev-${e.type}` }, [
        el('time', { text: new Date(e.at).toLocaleString() }),
        ' ',
        el('b', { text: e.type }),
        ' ',
        el('span', { class: 'muted', text: rest }),
      ]),
    );
  }
}

/** Downloads with the token in a header (a plain link could not carry it). */
async function download(path: string, filename: string): Promise<void> {
  if (!requireToken()) return;
  let res: Response;
  try {
    res = await fetch(path, { headers: { Authorization: `Bearer ${token()}` } });
  } catch {
    flash(t('networkError'), 'bad');
    return;
  }
  if (!res.ok) {
    const error = await res
      .json()
      .then((b: { error?: ApiError }) => b.error ?? null)
      .catch(() => null);
    flash(errorText({ status: res.status, error }), 'bad');
    return;
  }
  const blob = await res.blob();
  const a = el('a', { href: URL.createObjectURL(blob), download: filename });
  document.body.appendChild(a);
  a.click();
  a.remove();
  flash(`${filename} ✓`, 'ok');
}

async function verify(): Promise<void> {
  if (!requireToken()) return;
  const r = await api<{ ok: boolean; checked: number; firstBroken?: unknown }>(
    'GET',
    '/v1/audit/verify',
  );
  const p = $('verify-result');
  if (r.status === 404) {
    p.textContent = t('verifyMissing');
    p.className = 'muted';
  } else if (r.status !== 200) {
    p.textContent = errorText(r);
    p.className = 'bad';
  } else if (r.body.ok) {
    p.textContent = `${t('verifyOk')}: ${r.body.checked} ${t('events')}`;
    p.className = 'ok';
  } else {
    p.textContent = `${t('verifyBroken')} ${JSON.stringify(r.body.firstBroken)}`;
    p.className = 'bad';
  }
}

/* ---------- grid ---------- */
async function openGrid(ev: Event): Promise<void> {
  ev.preventDefault();
  const code = val('grid-code').trim();
  if (!requireToken() || !code) return;
  const r = await api<{ code: string; name: string; people?: { name: string; role: string }[] }>(
    'GET',
    `/v1/directory/grids/${encodeURIComponent(code)}`,
  );
  const tbl = $('grid-people');
  clear(tbl);
  if (r.status !== 200) {
    flash(errorText(r), 'bad');
    tbl.appendChild(el('tr', { class: 'bad' }, [el('td', { text: errorText(r) })]));
    return;
  }
  flash(`${r.body.name} (${r.body.code})`, 'ok');
  tbl.appendChild(el('tr', null, [el('th', { text: t('name') }), el('th', { text: t('role') })]));
  for (const p of r.body.people ?? []) {
    tbl.appendChild(
      el('tr', null, [el('td', { text: p.name }), el('td', { text: roleName(p.role) })]),
    );
  }
}

/** The export buttons: button id → the route and the file name it saves. */
const EXPORTS: Record<string, (wid: string) => [string, string]> = {
  'csv-chains': (w) => [`/v1/warnings/${w}/chains.csv`, 'chains.csv'],
  'csv-chains-zh': (w) => [`/v1/warnings/${w}/chains.csv?headers=zh`, 'chains-zh.csv'],
  'csv-report': (w) => [`/v1/reports/warnings/${w}.csv`, 'report.csv'],
  // Spreadsheets for auditors and the provincial system (Chinese headers and values).
  'xlsx-chains': (w) => [`/v1/warnings/${w}/chains.xlsx?headers=zh`, 'chains.xlsx'],
  'xlsx-report': (w) => [`/v1/reports/warnings/${w}.xlsx?headers=zh`, 'report.xlsx'],
};

export function initAudit(): void {
  $('period-form').addEventListener('submit', (ev) => void openPeriod(ev));
  $('chain-form').addEventListener('submit', (ev) => void openChain(ev));
  for (const [id, route] of Object.entries(EXPORTS)) {
    $(id).addEventListener('click', () => {
      const [path, filename] = route(encodeURIComponent(val('audit-wid').trim()));
      void download(path, filename);
    });
  }
  $('verify-btn').addEventListener('click', () => void verify());
  $('grid-form').addEventListener('submit', (ev) => void openGrid(ev));
}
