/*
 * Duty console, a grid member's view (phone-sized first): their tasks (door-to-door, gong and
 * whistle) with the task number, the person to visit and a button to complete with an outcome;
 * the people of their grid who have not confirmed the active warnings, each with an on-site
 * confirmation and its reason. Data: GET /v1/tasks, GET /v1/console/grid/warnings,
 * GET /v1/warnings/:id/chains (held to the member's grid by the API).
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
  state,
  t,
} from './core';
import { itemsOf, type Listing, type PersonRow } from './types';

const OUTCOMES = ['confirmed_on_site', 'evacuated', 'not_found', 'refused'];
const UNCONFIRMED = 'pending,sent,delivered,heard,declined,unreachable';

interface Task {
  id: string;
  number?: number | null;
  type: string;
  status: string;
  subject?: string | null;
  reason?: string | null;
  outcome?: string | null;
  note?: string | null;
}

interface GridWarning {
  id: string;
  level: string;
  state: string;
  headline: string;
  instruction: string;
  total: number;
  confirmed: number;
  unconfirmed: number;
}

function load(): void {
  if (!requireToken() || !can('myGrid')) return;
  const grid = state.me?.grid;
  $('mygrid-title').textContent = grid
    ? (grid.village ? `${grid.village} · ` : '') + (grid.name ?? grid.code)
    : '';
  void loadTasks();
  void loadWarnings();
}

/* ---------- tasks ---------- */
async function loadTasks(): Promise<void> {
  const r = await api<Listing<Task>>('GET', '/v1/tasks');
  const box = $('mygrid-tasks');
  clear(box);
  if (r.status !== 200) {
    box.appendChild(el('p', { class: 'bad', text: errorText(r) }));
    return;
  }
  const tasks = itemsOf(r.body);
  const open = tasks.filter((x) => x.status === 'open');
  const closed = tasks.filter((x) => x.status !== 'open').slice(0, 10);
  if (!tasks.length) box.appendChild(el('p', { class: 'muted', text: t('noTasks') }));
  for (const task of [...open, ...closed]) box.appendChild(taskCard(task));
}

function taskCard(task: Task): HTMLElement {
  const card = el(
    'article',
    {
      class: `task-card ts-${task.status}`,
      'data-task': task.id,
      'data-number': String(task.number ?? ''),
    },
    [
      el('h4', null, [
        el('span', { class: 'task-no', text: `${t('taskNo')} ${task.number ?? '—'}` }),
        ' ',
        el('span', { text: label('taskTypes', task.type) }),
        ' ',
        el('span', { class: 'badge', text: label('taskStatuses', task.status) }),
      ]),
      task.subject
        ? el('p', { class: 'visit' }, [el('b', { text: `${t('visit')}：` }), task.subject])
        : null,
      task.reason ? el('p', { class: 'muted', text: `${t('taskReason')}：${task.reason}` }) : null,
      task.status !== 'open' && task.outcome
        ? el('p', {
            class: 'ok',
            text: `${t('outcome')}：${label('taskOutcomes', task.outcome)}${task.note ? ` · ${task.note}` : ''}`,
          })
        : null,
    ],
  );
  if (task.status === 'open' && can('completeTask')) {
    const sel = el(
      'select',
      { name: 'outcome', 'aria-label': t('outcome') },
      OUTCOMES.map((o) => el('option', { value: o, text: label('taskOutcomes', o) })),
    );
    const note = el('input', { name: 'note', placeholder: t('note'), maxlength: '1000' });
    const complete = async (btn: HTMLButtonElement) => {
      btn.disabled = true;
      const body: { outcome: string; note?: string } = { outcome: sel.value };
      if (note.value.trim()) body.note = note.value.trim();
      const r = await api('POST', `/v1/tasks/${encodeURIComponent(task.id)}/complete`, body);
      btn.disabled = false;
      if (r.status >= 300) {
        flash(errorText(r), 'bad');
        return;
      }
      flash(`${t('taskCompleted')} ✓ ${t('taskNo')} ${task.number ?? ''}`, 'ok');
      load();
    };
    card.appendChild(
      el('div', { class: 'task-form' }, [
        el('label', null, [el('span', { text: t('outcome') }), sel]),
        el('label', null, [el('span', { text: t('note') }), note]),
        el('button', {
          type: 'button',
          class: 'primary',
          'data-action': 'complete',
          text: t('completeTask'),
          onclick: (ev) => void complete(ev.currentTarget as HTMLButtonElement),
        }),
      ]),
    );
  }
  return card;
}

/* ---------- people not confirmed ---------- */
async function loadWarnings(): Promise<void> {
  const r = await api<GridWarning[]>('GET', '/v1/console/grid/warnings');
  const box = $('mygrid-warnings');
  clear(box);
  if (r.status !== 200) {
    box.appendChild(el('p', { class: 'bad', text: errorText(r) }));
    return;
  }
  if (!r.body.length) {
    box.appendChild(el('p', { class: 'muted', text: t('noWarnings') }));
    return;
  }
  for (const w of r.body) {
    const list = el('ul', { class: 'people-list' });
    box.appendChild(
      el('section', { class: `warning-card lv-${w.level}`, 'data-warning': w.id }, [
        el('h4', { text: w.headline }),
        el('p', {
          class: 'muted',
          text: `${label('levels', w.level)} · ${label('warningStates', w.state)} · ${t('confirmed')} ${w.confirmed}/${w.total}`,
        }),
        w.instruction ? el('p', { text: w.instruction }) : null,
        el('h5', { text: `${t('unconfirmedPeople')}（${w.unconfirmed}）` }),
        list,
      ]),
    );
    void loadPeople(w, list);
  }
}

async function loadPeople(w: GridWarning, list: HTMLUListElement): Promise<void> {
  const r = await api<Listing<PersonRow>>(
    'GET',
    `/v1/warnings/${encodeURIComponent(w.id)}/chains?state=${UNCONFIRMED}&limit=1000`,
  );
  clear(list);
  if (r.status !== 200) {
    list.appendChild(el('li', { class: 'bad', text: errorText(r) }));
    return;
  }
  const items = itemsOf(r.body)
    .slice()
    .sort(
      (a, b) =>
        (b.helpRequestedAt ? 1 : 0) - (a.helpRequestedAt ? 1 : 0) ||
        (b.notWoken ? 1 : 0) - (a.notWoken ? 1 : 0) ||
        String(a.name).localeCompare(String(b.name), 'zh-CN'),
    );
  if (!items.length) list.appendChild(el('li', { class: 'ok', text: t('allConfirmed') }));
  for (const p of items) list.appendChild(personItem(w, p));
}

function personItem(w: GridWarning, p: PersonRow): HTMLLIElement {
  const flags = [label('deliveryStates', p.state)];
  if (p.helpRequestedAt && p.state !== 'declined') flags.push(t('askedHelp'));
  if (p.notWoken) flags.push(t('notWokenFlag'));
  const li = el('li', { 'data-person': p.personId, 'data-state': p.state }, [
    el('div', { class: 'who' }, [
      el('b', { text: p.name }),
      ` · ${roleName(p.role)} · ${flags.join(' · ')}`,
    ]),
    p.contact ? el('div', { class: 'muted', text: p.contact }) : null,
  ]);
  if (can('confirmOnSite')) {
    const reason = el('input', {
      name: 'reason',
      value: t('onSiteDefault'),
      maxlength: '500',
      'aria-label': t('reasonPrompt'),
    });
    const confirm = async (btn: HTMLButtonElement) => {
      if (!reason.value.trim()) {
        flash(t('reasonRequired'), 'bad');
        reason.focus();
        return;
      }
      btn.disabled = true;
      const r = await api(
        'POST',
        `/v1/warnings/${encodeURIComponent(w.id)}/people/${encodeURIComponent(p.personId)}/confirm`,
        { reason: reason.value.trim(), kind: 'confirm' },
      );
      btn.disabled = false;
      if (r.status >= 300) {
        flash(errorText(r), 'bad');
        return;
      }
      flash(`${t('confirmedOnSite')} ✓ ${p.name}`, 'ok');
      load();
    };
    li.appendChild(
      el('div', { class: 'confirm-form' }, [
        reason,
        el('button', {
          type: 'button',
          class: 'primary',
          'data-action': 'confirm',
          text: t('confirmOnSite'),
          onclick: (ev) => void confirm(ev.currentTarget as HTMLButtonElement),
        }),
      ]),
    );
  }
  return li;
}

export function initMyGrid(): void {
  $('mygrid-refresh').addEventListener('click', load);
  hooks.onMe.push((me) => {
    if (me.role === 'grid_member') load();
  });
  hooks.onLang.push(() => {
    if (state.me?.role === 'grid_member') load();
  });
}
