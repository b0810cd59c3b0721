/*
 * Duty console, rosters: a roster check (名册测试: a test warning to every responsible person of a
 * division) with, per person, whether each contact point works (delivered, answered, dead number,
 * no answer) and the numbers to fix; and the roster report per county (contacts with when each
 * last worked, gaps in the chain, the filing date and whether the county filed). Data:
 * POST /v1/roster-checks, GET /v1/roster-checks/:id, GET /v1/rosters/:divisionCode.
 */
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
  requireToken,
  roleName,
  t,
  type UiKey,
} from './core';

interface CheckContact {
  kind: string;
  value: string;
  status: string;
  errorCode: string | null;
  verifiedAt: string | null;
}

interface CheckPerson {
  personId: string;
  name: string;
  role: string;
  divisionCode: string;
  gridCode: string | null;
  status: string;
  answered: boolean;
  contacts: CheckContact[];
}

interface RosterCheck {
  id: string;
  warningId: string;
  divisionCode: string;
  divisionName: string;
  createdAt: string;
  people: number;
  answeredPeople: number;
  contactPoints: Record<string, number>;
  results: CheckPerson[];
  numbersToFix: {
    name: string;
    role: string;
    kind: string;
    value: string;
    errorCode: string | null;
  }[];
  peopleWithoutContact: { name: string; role: string }[];
}

interface RosterPerson {
  name: string;
  role: string;
  divisionCode: string;
  gridCode: string | null;
  supervisor: { name: string } | null;
  contacts: { kind: string; value: string; lastConfirmedAt: string | null }[];
}

interface RosterUnit {
  code: string;
  name: string;
  level: string;
  people: RosterPerson[];
  peopleWithoutSupervisor: { name: string; role: string; divisionCode: string }[];
  peopleWithoutConfirmedContact: { name: string; role: string }[];
  gridsWithoutResponsible: { code: string; name: string }[];
  hazardPointsWithoutMonitor: { code: string; name: string; divisionCode: string }[];
  filing: { fileBy: string; filed: boolean; lastPeopleImportAt: string | null; overdue: boolean };
}

interface Roster {
  divisionCode: string;
  divisionName: string;
  fileBy: string;
  divisions: RosterUnit[];
}

/** People shown per county in the roster table (the gaps are always listed whole). */
const PEOPLE_SHOWN = 200;

let lastCheck: RosterCheck | null = null;
let lastRoster: Roster | null = null;

const STATUS_CLASS: Record<string, string> = {
  answered: 'ok',
  delivered: 'ok',
  dead_number: 'bad',
  no_answer: 'warn',
  not_tried: 'muted',
  no_contact: 'bad',
};

function status(code: string): HTMLElement {
  return el('span', { class: STATUS_CLASS[code] ?? '', text: label('contactStatuses', code) });
}

function heads(keys: UiKey[]): HTMLElement {
  return el(
    'tr',
    null,
    keys.map((k) => el('th', { text: t(k) })),
  );
}

/* ---------- roster checks ---------- */
async function startCheck(ev: Event): Promise<void> {
  ev.preventDefault();
  if (!requireToken() || !can('rosterCheck')) return;
  const jurisdiction = $<HTMLInputElement>('rc-division').value.trim();
  const r = await api<{ id: string; recipients: number; divisionName: string }>(
    'POST',
    '/v1/roster-checks',
    { jurisdiction },
  );
  if (!r.ok) {
    flash(errorText(r), 'bad');
    return;
  }
  $<HTMLInputElement>('rc-id').value = r.body.id;
  flash(`${t('rcStarted')} ${r.body.divisionName} · ${r.body.recipients}${t('unitPeople')}`, 'ok');
  await loadCheck();
}

async function loadCheck(): Promise<void> {
  if (!requireToken()) return;
  const id = $<HTMLInputElement>('rc-id').value.trim();
  if (!id) return;
  const r = await api<RosterCheck>('GET', `/v1/roster-checks/${encodeURIComponent(id)}`);
  if (r.status !== 200) {
    flash(errorText(r), 'bad');
    return;
  }
  renderCheck(r.body);
}

function renderCheck(c: RosterCheck): void {
  lastCheck = c;
  const box = $('rc-result');
  clear(box);
  box.appendChild(
    el('p', null, [
      el('b', { text: `${c.divisionName} (${c.divisionCode})` }),
      ` · ${t('rcPeople')} ${c.people} · ${t('rcAnswered')} ${c.answeredPeople} · `,
      ...Object.entries(c.contactPoints).map(([k, n]) =>
        el('span', { class: 'badge', text: `${label('contactStatuses', k)} ${n}` }),
      ),
    ]),
  );
  const tbl = el('table', null, [heads(['rcName', 'role', 'rcPlace', 'rcStatus', 'rcContacts'])]);
  for (const p of c.results) {
    tbl.appendChild(
      el('tr', { 'data-person-name': p.name, 'data-person': p.personId }, [
        el('td', { text: p.name }),
        el('td', { text: roleName(p.role) }),
        el('td', { text: p.gridCode ?? p.divisionCode }),
        el('td', null, [status(p.status)]),
        el(
          'td',
          null,
          p.contacts.length
            ? p.contacts.map((x) =>
                el('div', null, [
                  `${label('contactKinds', x.kind)} ${x.value} `,
                  status(x.status),
                  x.errorCode ? el('span', { class: 'muted', text: ` (${x.errorCode})` }) : null,
                ]),
              )
            : [status('no_contact')],
        ),
      ]),
    );
  }
  box.appendChild(tbl);
  box.appendChild(el('h4', { text: t('rcToFix') }));
  const fix = el('ul', { id: 'rc-fix' });
  for (const n of c.numbersToFix)
    fix.appendChild(
      el('li', {
        class: 'bad',
        text: `${n.name}（${roleName(n.role)}）${label('contactKinds', n.kind)} ${n.value}${
          n.errorCode ? ` · ${n.errorCode}` : ''
        }`,
      }),
    );
  for (const p of c.peopleWithoutContact)
    fix.appendChild(
      el('li', { class: 'bad', text: `${p.name}（${roleName(p.role)}）${t('rcNoContact')}` }),
    );
  if (!fix.childNodes.length)
    fix.appendChild(el('li', { class: 'muted', text: t('rcNothingToFix') }));
  box.appendChild(fix);
}

/* ---------- the roster report ---------- */
async function loadRoster(ev: Event): Promise<void> {
  ev.preventDefault();
  if (!requireToken()) return;
  const code = $<HTMLInputElement>('roster-division').value.trim();
  const r = await api<Roster>('GET', `/v1/rosters/${encodeURIComponent(code)}`);
  if (r.status !== 200) {
    clear($('roster-result'));
    flash(errorText(r), 'bad');
    return;
  }
  flash('');
  renderRoster(r.body);
}

function gapList(key: UiKey, items: string[]): HTMLElement {
  // {role}: the monitor role's name, from the label tables.
  const title = t(key).replace('{role}', roleName('group_monitor'));
  return el('div', { class: 'gap' }, [
    el('b', { text: `${title}（${items.length}）` }),
    items.length
      ? el(
          'ul',
          null,
          items.map((x) => el('li', { text: x })),
        )
      : el('span', { class: 'ok', text: ` ${t('rosterNone')}` }),
  ]);
}

function filingText(f: RosterUnit['filing']): HTMLElement {
  const state = f.filed ? 'rosterFiled' : f.overdue ? 'rosterOverdue' : 'rosterNotFiled';
  return el('p', { class: 'filing' }, [
    `${t('rosterFileBy')}：${f.fileBy} · `,
    el('b', {
      class: f.filed ? 'ok' : 'bad',
      text:
        t(state) +
        (f.filed && f.lastPeopleImportAt
          ? `（${new Date(f.lastPeopleImportAt).toISOString().slice(0, 10)}）`
          : ''),
    }),
  ]);
}

function renderRoster(roster: Roster): void {
  lastRoster = roster;
  const box = $('roster-result');
  clear(box);
  for (const u of roster.divisions) {
    const section = el('section', { class: 'county', 'data-county': u.code }, [
      el('h4', { text: `${u.name} (${u.code}) · ${u.people.length}${t('unitPeople')}` }),
      filingText(u.filing),
      gapList(
        'rosterNoMonitor',
        u.hazardPointsWithoutMonitor.map((h) => `${h.name} (${h.code})`),
      ),
      gapList(
        'rosterNoResponsible',
        u.gridsWithoutResponsible.map((g) => `${g.name} (${g.code})`),
      ),
      gapList(
        'rosterNoSupervisor',
        u.peopleWithoutSupervisor.map((p) => `${p.name}（${roleName(p.role)}）`),
      ),
      gapList(
        'rosterNeverConfirmed',
        u.peopleWithoutConfirmedContact.map((p) => `${p.name}（${roleName(p.role)}）`),
      ),
    ]);
    const tbl = el('table', null, [
      heads(['rcName', 'role', 'rcPlace', 'rosterSupervisor', 'rosterContacts']),
    ]);
    for (const p of u.people.slice(0, PEOPLE_SHOWN)) {
      tbl.appendChild(
        el('tr', null, [
          el('td', { text: p.name }),
          el('td', { text: roleName(p.role) }),
          el('td', { text: p.gridCode ?? p.divisionCode }),
          el('td', { text: p.supervisor?.name ?? '—' }),
          el(
            'td',
            null,
            p.contacts.map((c) =>
              el('div', null, [
                `${label('contactKinds', c.kind)} ${c.value} `,
                el('span', {
                  class: c.lastConfirmedAt ? 'ok' : 'muted',
                  text: c.lastConfirmedAt
                    ? `${t('rosterLastWorked')} ${c.lastConfirmedAt}`
                    : t('rosterNeverWorked'),
                }),
              ]),
            ),
          ),
        ]),
      );
    }
    section.appendChild(tbl);
    if (u.people.length > PEOPLE_SHOWN)
      section.appendChild(
        el('p', { class: 'muted', text: `${t('rosterMore')} ${u.people.length - PEOPLE_SHOWN}` }),
      );
    box.appendChild(section);
  }
}

export function initRosters(): void {
  $('rc-form').addEventListener('submit', (ev) => void startCheck(ev));
  $('rc-refresh').addEventListener('click', () => void loadCheck());
  $('roster-form').addEventListener('submit', (ev) => void loadRoster(ev));
  hooks.onMe.push((me) => {
    // A duty officer's own jurisdiction is the natural default.
    for (const id of ['rc-division', 'roster-division']) {
      const input = $<HTMLInputElement>(id);
      if (!input.value && me.jurisdiction) input.value = me.jurisdiction;
    }
  });
  hooks.onLang.push(() => {
    if (lastCheck) renderCheck(lastCheck);
    if (lastRoster) renderRoster(lastRoster);
  });
}
