/*
 * Duty console, the people of a watched warning: "who is still silent, where" at a glance.
 * Filters (not answered, asked for help, not woken, unreachable) with their counts, grouping by
 * township / village / grid with a count per group, the most urgent first. Data: every page of
 * GET /v1/warnings/:id/responses; place names from the live summary's table.
 */
import {
  $,
  api,
  clear,
  el,
  errorText,
  hooks,
  label,
  requireToken,
  roleName,
  state,
  t,
  watchedId,
  type ApiResult,
  type UiKey,
} from './core';
import { renderHistogram } from './histogram';
import { itemsOf, type Listing, type PersonRow } from './types';
import { actionButtons } from './watch';

type Filter = 'all' | 'silent' | 'help' | 'notWoken' | 'unreachable';
type GroupBy = '' | 'township' | 'village' | 'grid';

/** Which people each filter keeps. */
const FILTERS: Record<Filter, (p: PersonRow) => boolean> = {
  all: () => true,
  silent: (p) => p.state !== 'confirmed' && p.state !== 'declined' && p.state !== 'cancelled',
  help: (p) => !!p.helpRequestedAt || p.state === 'declined',
  notWoken: (p) => !!p.notWoken,
  unreachable: (p) => p.state === 'unreachable',
};
const ORDER: Filter[] = ['silent', 'help', 'notWoken', 'unreachable', 'all'];
const PAGE = 1000;
const MAX_PAGES = 50;

let rows: PersonRow[] = [];
let loadedFor: string | null = null;
let filter: Filter = 'silent';
let groupBy: GroupBy = 'village';

/** Every person of the warning, page by page. */
async function loadAll(id: string): Promise<ApiResult<PersonRow[]>> {
  const all: PersonRow[] = [];
  for (let n = 0; n < MAX_PAGES; n++) {
    const r = await api<Listing<PersonRow>>(
      'GET',
      `/v1/warnings/${encodeURIComponent(id)}/responses?limit=${PAGE}&offset=${n * PAGE}`,
    );
    if (r.status !== 200) return { ...r, body: [] };
    const items = itemsOf(r.body);
    all.push(...items);
    if (items.length < PAGE) break;
  }
  return { status: 200, ok: true, body: all, error: null };
}

async function load(): Promise<void> {
  const id = watchedId();
  if (!requireToken() || !id) return;
  const r = await loadAll(id);
  const tbl = $('people-table');
  clear(tbl);
  if (r.status !== 200) {
    tbl.appendChild(el('tr', null, [el('td', { class: 'bad', text: errorText(r) })]));
    return;
  }
  rows = r.body;
  loadedFor = id;
  $('people-filters').hidden = false;
  renderHistogram(rows);
  render();
}

/** Places by code, from the live summary's township → village → grid table. */
function placeNames(): Record<string, string | null> {
  const names: Record<string, string | null> = {};
  for (const row of state.lastSummary?.table ?? []) {
    if (row.townshipCode) names[`township:${row.townshipCode}`] = row.township;
    if (row.villageCode) names[`village:${row.villageCode}`] = row.village;
    if (row.gridCode) names[`grid:${row.gridCode}`] = row.grid;
  }
  return names;
}

function groupKey(p: PersonRow): string {
  const code = String(p.divisionCode ?? '');
  if (groupBy === 'township') return code.length >= 9 ? code.slice(0, 9) : '';
  if (groupBy === 'village') return code.length >= 12 ? code.slice(0, 12) : '';
  if (groupBy === 'grid') return p.gridCode ?? '';
  return '';
}

/** The most urgent first: asked for help, not woken, unreachable, silent, then those who answered. */
function urgency(p: PersonRow): number {
  if (FILTERS.help(p)) return 0;
  if (p.notWoken) return 1;
  if (p.state === 'unreachable') return 2;
  if (FILTERS.silent(p)) return 3;
  return 4;
}

function renderFilters(): void {
  const bar = $('people-filter-buttons');
  clear(bar);
  for (const k of ORDER) {
    const n = rows.filter(FILTERS[k]).length;
    bar.appendChild(
      el(
        'button',
        {
          type: 'button',
          class: `chip${k === filter ? ' active' : ''}`,
          'data-filter': k,
          'aria-pressed': String(k === filter),
          onclick: () => {
            filter = k;
            render();
          },
        },
        [`${t(`f_${k}` as UiKey)} `, el('b', { class: 'count', text: String(n) })],
      ),
    );
  }
}

function render(): void {
  renderFilters();
  const tbl = $('people-table');
  clear(tbl);
  const names = placeNames();
  const kept = rows
    .filter(FILTERS[filter])
    .slice()
    .sort(
      (a, b) => urgency(a) - urgency(b) || String(a.name).localeCompare(String(b.name), 'zh-CN'),
    );
  const heads: UiKey[] = ['name', 'role', 'village', 'grid', 'state', 'actions'];
  tbl.appendChild(
    el(
      'tr',
      null,
      heads.map((k) => el('th', { text: t(k) })),
    ),
  );
  const groups: { key: string; people: PersonRow[] }[] = [];
  const byKey = new Map<string, { key: string; people: PersonRow[] }>();
  for (const p of kept) {
    const k = groupKey(p);
    let g = byKey.get(k);
    if (!g) {
      g = { key: k, people: [] };
      byKey.set(k, g);
      groups.push(g);
    }
    g.people.push(p);
  }
  if (groupBy)
    groups.sort((a, b) => b.people.length - a.people.length || a.key.localeCompare(b.key));
  for (const g of groups) {
    if (groupBy) {
      const name = g.key ? `${names[`${groupBy}:${g.key}`] ?? g.key}（${g.key}）` : t('g_none');
      tbl.appendChild(
        el(
          'tr',
          { class: 'group-head', 'data-group': g.key, 'data-count': String(g.people.length) },
          [
            el('th', {
              colspan: '6',
              text: `${t(groupBy)} · ${name} · ${g.people.length} ${t('peopleCount')}`,
            }),
          ],
        ),
      );
    }
    for (const p of g.people) {
      const flags: string[] = [];
      if (p.helpRequestedAt && p.state !== 'declined') flags.push(t('askedHelp'));
      if (p.notWoken) flags.push(t('notWokenFlag'));
      const village = String(p.divisionCode ?? '').slice(0, 12);
      tbl.appendChild(
        el('tr', { 'data-person': p.personId, 'data-state': p.state, class: `u${urgency(p)}` }, [
          el('td', { text: p.name }),
          el('td', { text: roleName(p.role) }),
          el('td', { text: names[`village:${village}`] ?? village }),
          el('td', { text: (p.gridCode && names[`grid:${p.gridCode}`]) || p.gridCode || '—' }),
          el('td', {
            text:
              label('deliveryStates', p.state) + (flags.length ? ` · ${flags.join(' · ')}` : ''),
          }),
          el('td', null, actionButtons(p)),
        ]),
      );
    }
  }
  if (!kept.length)
    tbl.appendChild(el('tr', null, [el('td', { colspan: '6', class: 'muted', text: t('none') })]));
}

export function initPeople(): void {
  const group = $<HTMLSelectElement>('people-group');
  $('people-btn').addEventListener('click', () => void load());
  group.addEventListener('change', () => {
    groupBy = group.value as GroupBy;
    if (rows.length) render();
  });
  group.value = groupBy;
  hooks.onLang.push(() => {
    if (rows.length) render();
  });
  // A new warning watched: the list of the previous one goes.
  hooks.onSummary.push((s) => {
    if (loadedFor && s.id !== loadedFor) {
      rows = [];
      loadedFor = null;
      clear($('people-table'));
      $('people-filters').hidden = true;
    }
  });
}
