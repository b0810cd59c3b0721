/* Duty console, the live view: the pushed summary of a warning, its chart and the actions on people. */
import {
  $,
  api,
  can,
  clear,
  el,
  errorText,
  flash,
  hooks,
  label,
  pct,
  requireToken,
  roleName,
  secs,
  shade,
  state,
  t,
  token,
  watchedId,
  type UiKey,
} from './core';
import type { BroadcastRow, GroupRuleRow, PersonRow, Summary } from './types';

const STATES = [
  'pending',
  'sent',
  'delivered',
  'heard',
  'confirmed',
  'declined',
  'unreachable',
  'cancelled',
];

let source: EventSource | null = null;
/** Set when the server ended the stream (token revoked or changed). */
let streamEnded = false;
/** Coverage and confirmation over time, from the frames received since watching began. */
let history: { at: number; coverage: number; confirmed: number }[] = [];

/** Opens the warning's live stream: the full state at once, then each change as it is pushed. */
export function watch(id: string): void {
  if (!requireToken() || !id) return;
  source?.close();
  state.watchedId = id;
  state.lastSummary = null;
  streamEnded = false;
  history = [];
  $('live-status').textContent = '…';
  const es = new EventSource(
    `/v1/console/warnings/${encodeURIComponent(id)}/stream?token=${encodeURIComponent(token())}`,
  );
  source = es;
  es.addEventListener('summary', (e) => {
    const s = JSON.parse((e as MessageEvent<string>).data) as Summary;
    state.lastSummary = s;
    const rr = s.responses ?? {};
    history.push({
      at: Date.parse(s.at),
      coverage: rr.coverage ?? 0,
      confirmed: rr.confirmationRate ?? 0,
    });
    if (history.length > 900) history.shift();
    renderSummary(s);
    for (const f of hooks.onSummary) f(s);
  });
  // The server ends the stream when the token is revoked or changed: stop, do not reconnect.
  es.addEventListener('end', () => {
    es.close();
    if (source === es) source = null;
    streamEnded = true;
    $('live-status').textContent = t('streamEnded');
    flash(t('streamEnded'), 'bad');
  });
  es.onerror = () => {
    // The stream answers 401/403/404 as JSON: ask the API why, once, and stop retrying if refused.
    void api('GET', `/v1/warnings/${encodeURIComponent(id)}`).then((r) => {
      if (r.status >= 400) {
        es.close();
        if (source === es) source = null;
        $('live-status').textContent = errorText(r);
        flash(errorText(r), 'bad');
      } else if (source === es) {
        // EventSource reconnects by itself; the server sends the full state again on reconnect.
        $('live-status').textContent = t('disconnected');
      }
    });
  };
}

export function stopWatching(): void {
  source?.close();
  source = null;
}

function firstNum(...xs: (number | null | undefined)[]): number | null {
  for (const x of xs) if (typeof x === 'number') return x;
  return null;
}

export function renderSummary(s: Summary): void {
  const status = $('live-status');
  status.textContent = streamEnded
    ? t('streamEnded')
    : `${t('live')} · ${t('updatedAt')} ${new Date(s.at).toLocaleTimeString()}` +
      (s.state ? ` · ${label('warningStates', s.state)}` : '');
  status.setAttribute('data-state', s.state ?? '');
  const counts = $('counts');
  clear(counts);
  const by = s.responses?.byState ?? s.dispatch.deliveries ?? {};
  for (const st of STATES) {
    counts.appendChild(
      el('div', { class: `card s-${st}`, 'data-state': st }, [
        el('div', { class: 'n', text: String(by[st] ?? 0) }),
        el('div', { class: 'l', text: label('deliveryStates', st) }),
      ]),
    );
  }
  const r = s.responses ?? {};
  const rs = r.responseSeconds ?? {};
  $('rates').textContent =
    `${t('coverage')} ${pct(r.coverage)} · ${t('confirmationRate')} ${pct(r.confirmationRate)}` +
    ` · ${t('median')} ${secs(firstNum(rs.median, rs.issueToAnswer?.median))}` +
    ` · ${t('p90')} ${secs(firstNum(rs.p90, rs.issueToAnswer?.p90))}`;

  renderChart();

  const help = r.helpRequests ?? [];
  $('help-box').hidden = help.length === 0;
  const hl = $('help-list');
  clear(hl);
  for (const h of help) hl.appendChild(personItem(h, [h.gridCode ?? '']));

  const tbl = $('place-table');
  clear(tbl);
  const heads: UiKey[] = [
    'township',
    'village',
    'grid',
    'totalCol',
    'reached',
    'confirmed',
    'help',
    'unreachable',
  ];
  tbl.appendChild(
    el(
      'tr',
      null,
      heads.map((k) => el('th', { text: t(k) })),
    ),
  );
  let prevT: string | null = null;
  let prevV: string | null = null;
  for (const row of s.table ?? []) {
    const rate = row.total ? row.confirmed / row.total : 0;
    tbl.appendChild(
      el('tr', { class: shade(rate), 'data-grid': row.gridCode ?? '' }, [
        el('td', { text: row.townshipCode === prevT ? '' : (row.township ?? row.townshipCode) }),
        el('td', {
          text:
            row.villageCode === prevV && row.townshipCode === prevT
              ? ''
              : (row.village ?? row.villageCode),
        }),
        el('td', { text: row.grid ?? row.gridCode ?? '—' }),
        el('td', { class: 'num', text: String(row.total) }),
        el('td', { class: 'num', text: String(row.reached) }),
        el('td', { class: 'num', text: `${row.confirmed} (${pct(rate)})` }),
        el('td', { class: 'num', text: String(row.help) }),
        el('td', { class: 'num', text: String(row.unreachable) }),
      ]),
    );
    prevT = row.townshipCode;
    prevV = row.villageCode;
  }

  renderBroadcasts(s.broadcasts ?? []);

  const nw = $('notwoken-list');
  clear(nw);
  const notWoken = r.notWoken ?? [];
  if (!notWoken.length) nw.appendChild(el('li', { class: 'muted', text: t('none') }));
  for (const p of notWoken)
    nw.appendChild(personItem(p, [p.gridCode ?? '', label('deliveryStates', p.state)]));

  renderGroupRules(r.groupRules ?? []);
}

/** The name of a grid's confirmation rule (`N` of at_least: its count). */
export function groupRuleName(rule: { rule: string; count?: number }): string {
  return label('groupConfirmRules', rule.rule).replace('N', String(rule.count ?? ''));
}

/** Each grid's group rule once due: the rule applied, who confirmed, and whether it was met. */
function renderGroupRules(rows: GroupRuleRow[]): void {
  const tbl = $('group-rule-table');
  clear(tbl);
  if (!rows.length) {
    tbl.appendChild(el('tr', null, [el('td', { class: 'muted', text: t('noGroupRules') })]));
    return;
  }
  const heads: UiKey[] = ['grid', 'ruleCol', 'confirmedOfTotal', 'outcome'];
  tbl.appendChild(
    el(
      'tr',
      null,
      heads.map((k) => el('th', { text: t(k) })),
    ),
  );
  for (const g of rows) {
    tbl.appendChild(
      el('tr', { 'data-grid': g.gridCode, 'data-met': String(g.met) }, [
        el('td', { text: g.gridName ?? g.gridCode }),
        el('td', { text: groupRuleName(g.rule) }),
        el('td', { class: 'num', text: `${g.confirmed}/${g.total} (${g.required})` }),
        el('td', { text: t(g.met ? 'ruleMet' : 'ruleNotMet') }),
      ]),
    );
  }
}

/** 大喇叭播放回执 per village, from the live summary; a village's terminals on demand. */
function renderBroadcasts(rows: BroadcastRow[]): void {
  const tbl = $('broadcast-table');
  clear(tbl);
  if (!rows.length) {
    tbl.appendChild(el('tr', null, [el('td', { class: 'muted', text: t('noBroadcasts') })]));
    return;
  }
  const heads: UiKey[] = ['village', 'terminals', 'played', 'offline', 'waitingReceipt', 'details'];
  tbl.appendChild(
    el(
      'tr',
      null,
      heads.map((k) => el('th', { text: t(k) })),
    ),
  );
  for (const b of rows) {
    tbl.appendChild(
      el(
        'tr',
        {
          class: `bc-row ${b.failed ? 'c-low' : b.waiting ? 'c-mid' : 'c-good'}`,
          'data-village': b.villageCode,
        },
        [
          el('td', { text: b.village ?? b.villageCode }),
          el('td', { class: 'num', text: String(b.terminals) }),
          el('td', { class: 'num played', text: String(b.played) }),
          el('td', { class: 'num failed', text: String(b.failed) }),
          el('td', { class: 'num', text: String(b.waiting) }),
          el('td', null, [
            el('button', {
              type: 'button',
              class: 'small',
              'data-action': 'bc-details',
              text: t('details'),
              onclick: () => void broadcastDetails(b.villageCode),
            }),
          ]),
        ],
      ),
    );
  }
}

interface BroadcastReceipt {
  version: number;
  msgType: string;
  terminalCode: string;
  terminalName: string | null;
  status: string | null;
  playedAt: string | null;
  repeat: number | null;
}

async function broadcastDetails(villageCode: string): Promise<void> {
  const r = await api<{
    villages?: { villageCode: string; village: string | null; receipts: BroadcastReceipt[] }[];
  }>('GET', `/v1/console/warnings/${encodeURIComponent(watchedId())}/broadcasts`);
  const box = $('broadcast-details');
  clear(box);
  if (r.status !== 200) {
    flash(errorText(r), 'bad');
    return;
  }
  for (const v of (r.body.villages ?? []).filter((x) => x.villageCode === villageCode)) {
    box.appendChild(el('h4', { text: `${v.village ?? v.villageCode} · ${t('broadcasts')}` }));
    const ul = el('ul');
    for (const x of v.receipts) {
      const st =
        x.status === 'played'
          ? t('played')
          : x.status
            ? `${t('offline')}（${x.status}）`
            : t('waitingReceipt');
      ul.appendChild(
        el(
          'li',
          {
            class: x.status === 'played' ? 'ok' : x.status ? 'bad' : 'muted',
            'data-terminal': x.terminalCode,
          },
          [
            `${x.terminalName ?? x.terminalCode} · v${x.version} ${x.msgType} · ${st}` +
              (x.playedAt ? ` · ${new Date(x.playedAt).toLocaleTimeString()}` : '') +
              (x.repeat ? ` ×${x.repeat}` : ''),
          ],
        ),
      );
    }
    box.appendChild(ul);
  }
}

/** A small SVG line chart: coverage (blue) and confirmation (green) over time, 0–100%. */
function renderChart(): void {
  const svgNs = 'http://www.w3.org/2000/svg';
  const w = 600;
  const h = 120;
  const box = $('chart');
  clear(box);
  if (history.length < 1) return;
  const t0 = history[0].at;
  const t1 = Math.max(history[history.length - 1].at, t0 + 1);
  const svg = document.createElementNS(svgNs, 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('width', String(w));
  svg.setAttribute('height', String(h));
  const lines: ['coverage' | 'confirmed', string][] = [
    ['coverage', '#1565c0'],
    ['confirmed', '#2e7d32'],
  ];
  for (const [key, colour] of lines) {
    const pts = history.map(
      (p) =>
        `${(((p.at - t0) / (t1 - t0)) * (w - 10) + 5).toFixed(1)},${(h - 5 - p[key] * (h - 10)).toFixed(1)}`,
    );
    if (pts.length === 1) pts.push(`${w - 5},${pts[0].split(',')[1]}`);
    const pl = document.createElementNS(svgNs, 'polyline');
    pl.setAttribute('points', pts.join(' '));
    pl.setAttribute('fill', 'none');
    pl.setAttribute('stroke', colour);
    pl.setAttribute('stroke-width', '2');
    pl.setAttribute('class', `line-${key}`);
    svg.appendChild(pl);
  }
  box.appendChild(svg);
  box.appendChild(
    el('div', { class: 'legend' }, [
      el('span', { class: 'k-cov', text: `— ${t('coverage')}` }),
      ' ',
      el('span', { class: 'k-conf', text: `— ${t('confirmationRate')}` }),
    ]),
  );
}

export function personItem(p: PersonRow, extra: string[]): HTMLLIElement {
  return el('li', null, [
    `${p.name} · ${roleName(p.role)} · ${extra.filter(Boolean).join(' · ')} `,
    ...actionButtons(p),
  ]);
}

/** The actions on a person that the token may take (GET /v1/console/me); none for an auditor. */
export function actionButtons(p: PersonRow): HTMLButtonElement[] {
  const button = (action: string, text: UiKey, run: () => void) =>
    el('button', {
      type: 'button',
      class: 'small',
      'data-action': action,
      'data-person': p.personId,
      text: t(text),
      onclick: run,
    });
  const out: HTMLButtonElement[] = [];
  if (can('confirmOnSite'))
    out.push(button('confirm', 'confirmOnSite', () => void onSiteConfirm(p)));
  if (can('assignTask')) out.push(button('task', 'assignTask', () => void assignTask(p)));
  if (can('callAgain')) out.push(button('call', 'callAgain', () => void callAgain(p)));
  return out;
}

async function onSiteConfirm(p: PersonRow): Promise<void> {
  const reason = window.prompt(t('reasonPrompt'), t('onSiteDefault'));
  if (reason === null) return;
  const r = await api('POST', `/v1/warnings/${watchedId()}/people/${p.personId}/confirm`, {
    reason,
    kind: 'confirm',
  });
  flash(
    r.status < 300 ? `${t('confirmOnSite')} ✓ ${p.name}` : errorText(r),
    r.status < 300 ? 'ok' : 'bad',
  );
}

interface VillageGrids {
  code: string;
  name: string;
  grids: { code: string; name: string; people: number }[];
}

/**
 * 派入户任务. A person with no grid (a village chief) is visited by members of one of their
 * village's grids: the officer picks it.
 */
async function assignTask(p: PersonRow): Promise<void> {
  if (p.gridCode) {
    await sendTask(p, p.gridCode);
    return;
  }
  const village = String(p.divisionCode ?? '').slice(0, 12);
  const r = await api<VillageGrids>(
    'GET',
    `/v1/console/villages/${encodeURIComponent(village)}/grids`,
  );
  if (r.status !== 200) {
    flash(`${t('assignTask')} ✗ ${p.name} — ${errorText(r)}`, 'bad');
    return;
  }
  const grids = r.body.grids ?? [];
  const box = $('grid-picker');
  clear(box);
  if (!grids.length) {
    box.hidden = true;
    flash(`${t('assignTask')} ✗ ${p.name} — ${t('pickGridNone')}`, 'bad');
    return;
  }
  const sel = el(
    'select',
    { id: 'grid-picker-select' },
    grids.map((g) => el('option', { value: g.code, text: `${g.name}（${g.code}）` })),
  );
  box.appendChild(el('p', { text: `${p.name} · ${r.body.name || village} — ${t('pickGrid')}` }));
  box.appendChild(sel);
  box.appendChild(
    el('button', {
      type: 'button',
      id: 'grid-picker-ok',
      text: t('assign'),
      onclick: () => {
        box.hidden = true;
        void sendTask(p, sel.value);
      },
    }),
  );
  box.appendChild(
    el('button', {
      type: 'button',
      text: t('cancelAction'),
      onclick: () => {
        box.hidden = true;
      },
    }),
  );
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
}

async function sendTask(p: PersonRow, grid: string): Promise<void> {
  const reason = window.prompt(t('reasonPrompt'), t('taskDefault'));
  if (reason === null) return;
  const r = await api<{ number?: number }>('POST', `/v1/warnings/${watchedId()}/tasks`, {
    type: 'door_to_door',
    grid,
    personId: p.personId,
    reason,
  });
  flash(
    r.ok
      ? `${t('assignTask')} ✓ ${p.name}` +
          (r.body?.number ? ` · ${t('taskNo')} ${r.body.number}` : '')
      : `${t('assignTask')} ✗ ${p.name} — ${errorText(r)}`,
    r.ok ? 'ok' : 'bad',
  );
}

/** 再次呼叫: one more voice call to the person now; 409 when the warning has ended or there is no number. */
async function callAgain(p: PersonRow): Promise<void> {
  const id = watchedId();
  if (!requireToken() || !id) return;
  const r = await api<{ attemptId: string }>(
    'POST',
    `/v1/warnings/${encodeURIComponent(id)}/people/${encodeURIComponent(p.personId)}/call`,
  );
  flash(
    r.ok
      ? `${t('callQueued')} ✓ ${p.name} (${r.body.attemptId})`
      : `${t('callAgain')} ✗ ${p.name} — ${errorText(r)}`,
    r.ok ? 'ok' : 'bad',
  );
}

async function cancelWarning(): Promise<void> {
  const id = watchedId();
  if (!requireToken() || !id) return;
  const reason = window.prompt(`${t('confirmCancel')}\n${t('reasonPrompt')}`, '');
  if (reason === null) return;
  const r = await api(
    'POST',
    `/v1/warnings/${encodeURIComponent(id)}/cancel`,
    reason ? { reason } : {},
  );
  flash(r.status < 300 ? t('cancelled') : errorText(r), r.status < 300 ? 'ok' : 'bad');
}

export function initWatch(): void {
  $('watch-form').addEventListener('submit', (e) => {
    e.preventDefault();
    watch($<HTMLInputElement>('watch-id').value.trim());
  });
  $('cancel-btn').addEventListener('click', () => void cancelWarning());
  hooks.onLang.push(() => {
    if (state.lastSummary) renderSummary(state.lastSummary);
  });
}
