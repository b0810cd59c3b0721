/*
 * Duty console, hazard reports (险情上报): a phone-sized form to file one (grid members and duty
 * officers), the list of reports newest first, and one report with its grade, the city's one-hour
 * deadline, who was notified and who acknowledged (the acknowledgement chain), a timeline, and the
 * duty officer's one-step imminent warning drafted from it. Data: POST/GET /v1/hazard-reports,
 * GET /v1/hazard-reports/:id, POST /v1/hazard-reports/:id/warning.
 */
import {
  $,
  api,
  can,
  clear,
  el,
  errorText,
  field,
  flash,
  hooks,
  label,
  requireToken,
  showTab,
  state,
  t,
  type UiKey,
} from './core';
import { clearFieldErrors, showFieldErrors } from './issue';
import { watch } from './watch';

interface Notice {
  name: string | null;
  level: string;
  purpose: string;
  channel: string;
  status: string;
  sentAt: string | null;
  outcome: string | null;
  outcomeAt: string | null;
}

interface Ack {
  level: string;
  by: string;
  channel: string;
  at: string;
}

interface DirectNotice {
  by: string;
  at: string;
  people: number;
  means: string[];
  note?: string;
}

interface Report {
  id: string;
  grade: string;
  state: string;
  place: { hazardPoint: string | null; hazardPointName: string | null; name: string };
  observed: string;
  peopleThreatened: number;
  possibleLoss: number | null;
  photos: string[];
  reporter: { name: string; phone?: string; role?: string };
  createdAt: string;
  cityDeadline: { required: boolean; deadlineAt: string | null; status: string };
  flagged: boolean;
  flaggedAt: string | null;
  escalatedAt: string | null;
  notified: Notice[];
  acknowledgements: Ack[];
  warningId: string | null;
  warningDraftId: string | null;
  directNotices: DirectNotice[];
}

const FORM = '#hr-form';

/** The provider's final status of a notice (SMS and call statuses), in the reader's language. */
const OUTCOME_KEYS: Record<string, UiKey> = {
  delivered: 'outDelivered',
  undelivered: 'outUndelivered',
  failed: 'outFailed',
  completed: 'outCompleted',
  'no-answer': 'outNoAnswer',
  busy: 'outBusy',
  canceled: 'outCanceled',
  queued: 'outQueued',
  sending: 'outQueued',
  sent: 'outSent',
  cancelled: 'outCanceled',
};

function outcome(code: string): string {
  const key = OUTCOME_KEYS[code];
  return key ? t(key) : code;
}
let shown: Report | null = null;

function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(state.lang === 'en' ? 'en-GB' : 'zh-CN', { hour12: false });
}

/* ---------- filing a report ---------- */
function value(name: string): string {
  return field<HTMLInputElement>($<HTMLFormElement>('hr-form'), name).value.trim();
}

async function file(ev: Event): Promise<void> {
  ev.preventDefault();
  if (!requireToken()) return;
  const body: Record<string, unknown> = {
    observed: value('observed'),
    peopleThreatened:
      value('peopleThreatened') === '' ? undefined : Number(value('peopleThreatened')),
    reporter: {
      name: value('reporterName'),
      ...(value('reporterPhone') ? { phone: value('reporterPhone') } : {}),
      ...(state.me?.role === 'grid_member' ? { role: label('roles', 'grid_member') } : {}),
    },
  };
  for (const name of ['hazardPoint', 'divisionCode', 'location'])
    if (value(name)) body[name] = value(name);
  if (value('possibleLoss') !== '') body.possibleLoss = Number(value('possibleLoss'));
  const photos = value('photos')
    .split(/\s+/)
    .filter((p) => p);
  if (photos.length) body.photos = photos;
  const r = await api<Report>('POST', '/v1/hazard-reports', body);
  if (!r.ok) {
    showFieldErrors(r, FORM);
    return;
  }
  clearFieldErrors(FORM);
  $<HTMLFormElement>('hr-form').reset();
  flash(`${t('hrFiled')} ${label('hazardGrades', r.body.grade)} · ${r.body.id}`, 'ok');
  await loadList();
  render(r.body);
}

/* ---------- the list ---------- */
async function loadList(): Promise<void> {
  if (!requireToken() || !can('hazardReports')) return;
  const stateFilter = $<HTMLSelectElement>('hr-state').value;
  const r = await api<Report[]>(
    'GET',
    `/v1/hazard-reports${stateFilter ? `?state=${encodeURIComponent(stateFilter)}` : ''}`,
  );
  const tbl = $('hr-list');
  clear(tbl);
  if (r.status !== 200) {
    tbl.appendChild(el('tr', null, [el('td', { class: 'bad', text: errorText(r) })]));
    return;
  }
  tbl.appendChild(
    el(
      'tr',
      null,
      (['hrTime', 'hrGrade', 'hrPlace', 'hrPeople', 'hrDeadline', ''] as (UiKey | '')[]).map((k) =>
        el('th', { text: k ? t(k) : '' }),
      ),
    ),
  );
  if (!r.body.length)
    tbl.appendChild(el('tr', null, [el('td', { colspan: '6', text: t('hrNone') })]));
  for (const rep of r.body) {
    tbl.appendChild(
      el('tr', { 'data-report': rep.id, class: rep.flagged ? 'flagged' : undefined }, [
        el('td', { text: time(rep.createdAt) }),
        el('td', null, [
          el('span', { class: `grade g-${rep.grade}`, text: label('hazardGrades', rep.grade) }),
        ]),
        el('td', { text: rep.place.name }),
        el('td', { class: 'num', text: String(rep.peopleThreatened) }),
        el('td', { text: label('deadlineStatuses', rep.cityDeadline.status) }),
        el('td', null, [
          el('button', {
            type: 'button',
            class: 'small',
            text: t('hrOpen'),
            onclick: () => void open(rep.id),
          }),
        ]),
      ]),
    );
  }
}

/* ---------- one report ---------- */
async function open(id: string): Promise<void> {
  const r = await api<Report>('GET', `/v1/hazard-reports/${encodeURIComponent(id)}`);
  if (r.status !== 200) {
    flash(errorText(r), 'bad');
    return;
  }
  render(r.body);
}

function row(key: UiKey, text: string | Node): HTMLElement {
  return el('tr', null, [el('th', { text: t(key) }), el('td', null, [text])]);
}

function render(rep: Report): void {
  shown = rep;
  const box = $('hr-detail');
  clear(box);
  box.appendChild(
    el('h3', null, [
      el('span', { class: `grade g-${rep.grade}`, text: label('hazardGrades', rep.grade) }),
      ' ',
      rep.place.name,
      rep.flagged ? el('span', { class: 'badge bad', text: ` ${t('hrFlagged')}` }) : null,
    ]),
  );
  const reporter = [rep.reporter.name, rep.reporter.role, rep.reporter.phone]
    .filter((x) => x)
    .join(' · ');
  box.appendChild(
    el(
      'table',
      { class: 'kv' },
      [
        row('hrId', rep.id),
        row('hrGrade', label('hazardGrades', rep.grade)),
        row('hrObserved', rep.observed),
        row('hrPeople', String(rep.peopleThreatened)),
        row('hrLoss', rep.possibleLoss === null ? '—' : String(rep.possibleLoss)),
        row('hrReporter', reporter),
        row('hrTime', time(rep.createdAt)),
        row(
          'hrDeadline',
          `${label('deadlineStatuses', rep.cityDeadline.status)}${
            rep.cityDeadline.deadlineAt ? ` · ${time(rep.cityDeadline.deadlineAt)}` : ''
          }`,
        ),
        row(
          'hrWarning',
          rep.warningId
            ? rep.warningId
            : rep.warningDraftId
              ? `${t('hrDraftPending')} ${rep.warningDraftId}`
              : '—',
        ),
        rep.photos.length
          ? row(
              'hrPhotos',
              el(
                'span',
                null,
                rep.photos.map((p) =>
                  el('a', { href: p, target: '_blank', rel: 'noopener noreferrer', text: p }),
                ),
              ),
            )
          : null,
      ].filter((x): x is HTMLElement => !!x),
    ),
  );

  // The acknowledgement chain: each level, who was told, and who acknowledged.
  box.appendChild(el('h4', { text: t('hrChain') }));
  const chain = el('table', { id: 'hr-chain' }, [
    el(
      'tr',
      null,
      (['hrLevel', 'hrNotified', 'hrAcked'] as UiKey[]).map((k) => el('th', { text: t(k) })),
    ),
  ]);
  // County first, then the city (when it must be reached), then any other level told.
  const order = ['county', 'city'];
  const levels = [
    ...new Set([
      'county',
      ...(rep.cityDeadline.required ? ['city'] : []),
      ...rep.notified.map((n) => n.level),
      ...rep.acknowledgements.map((a) => a.level),
    ]),
  ].sort((a, b) => (order.indexOf(a) + 1 || 9) - (order.indexOf(b) + 1 || 9));
  for (const level of levels) {
    const told = rep.notified
      .filter((n) => n.level === level)
      .map(
        (n) =>
          `${n.name ?? '—'} · ${label('channels', n.channel)} · ${outcome(n.outcome ?? n.status)}${
            n.purpose === 'escalation' ? ` (${t('hrEscalation')})` : ''
          }`,
      );
    const ack = rep.acknowledgements.find((a) => a.level === level);
    chain.appendChild(
      el('tr', { 'data-level': level }, [
        el('td', { text: label('reportLevels', level) }),
        el('td', { text: told.join('；') || '—' }),
        el('td', {
          class: ack ? 'ok' : 'bad',
          text: ack
            ? `${ack.by} · ${label('channels', ack.channel)} · ${time(ack.at)}`
            : t('hrNotAcked'),
        }),
      ]),
    );
  }
  box.appendChild(chain);
  // The duty officer acknowledges for their level (a city or higher jurisdiction: the city).
  const mine = (state.me?.jurisdiction ?? '').length <= 4 ? 'city' : 'county';
  if (
    state.me?.role === 'duty_officer' &&
    rep.state === 'open' &&
    !rep.acknowledgements.some((a) => a.level === mine)
  ) {
    box.appendChild(
      el('div', { class: 'buttons' }, [
        el('button', {
          type: 'button',
          id: 'hr-ack-btn',
          class: 'primary',
          text: `${t('hrAck')}（${label('reportLevels', mine)}）`,
          onclick: (e) => void acknowledge(rep.id, e.target as HTMLButtonElement),
        }),
      ]),
    );
  }

  // The timeline, oldest first.
  const events: [string, string][] = [[rep.createdAt, `${t('hrEvFiled')}：${reporter}`]];
  for (const n of rep.notified) {
    if (n.sentAt)
      events.push([
        n.sentAt,
        `${t('hrEvNotified')} ${label('reportLevels', n.level)} ${n.name ?? ''}（${label('channels', n.channel)}）`,
      ]);
    if (n.outcomeAt && n.outcome)
      events.push([n.outcomeAt, `${n.name ?? ''}：${outcome(n.outcome)}`]);
  }
  for (const a of rep.acknowledgements)
    events.push([a.at, `${label('reportLevels', a.level)} ${t('hrEvAcked')}：${a.by}`]);
  if (rep.flaggedAt) events.push([rep.flaggedAt, t('hrFlagged')]);
  if (rep.escalatedAt) events.push([rep.escalatedAt, t('hrEvEscalated')]);
  for (const d of rep.directNotices)
    events.push([d.at, `${t('hrEvDirect')}：${d.by} · ${d.people}${d.note ? ` · ${d.note}` : ''}`]);
  events.sort((a, b) => Date.parse(a[0]) - Date.parse(b[0]));
  box.appendChild(el('h4', { text: t('hrTimeline') }));
  box.appendChild(
    el(
      'ol',
      { id: 'hr-timeline', class: 'timeline' },
      events.map(([at, text]) => el('li', null, [el('b', { text: time(at) }), ' ', text])),
    ),
  );

  if (
    can('warnFromReport') &&
    state.me?.role === 'duty_officer' &&
    !rep.warningId &&
    !rep.warningDraftId
  ) {
    box.appendChild(
      el('div', { class: 'buttons' }, [
        el('button', {
          type: 'button',
          id: 'hr-warn-btn',
          class: 'danger',
          text: t('hrWarn'),
          onclick: (e) => void warn(rep.id, e.target as HTMLButtonElement),
        }),
      ]),
    );
    box.appendChild(el('p', { class: 'muted', text: t('hrWarnHint') }));
  }
}

/** 确认接报: the token's level acknowledges the report (recorded once per level). */
async function acknowledge(id: string, btn: HTMLButtonElement): Promise<void> {
  btn.disabled = true;
  const r = await api('POST', `/v1/hazard-reports/${encodeURIComponent(id)}/acknowledge`, {});
  btn.disabled = false;
  if (!r.ok) {
    flash(errorText(r), 'bad');
    return;
  }
  flash(t('hrAcknowledged'), 'ok');
  await open(id);
}

/** The imminent warning from the report in one step: issued (201) or drafted (202). */
async function warn(id: string, btn: HTMLButtonElement): Promise<void> {
  if (!window.confirm(t('hrWarnConfirm'))) return;
  btn.disabled = true;
  const r = await api<{
    warning?: { id: string; nationalId?: string };
    draft?: { id: string };
  }>('POST', `/v1/hazard-reports/${encodeURIComponent(id)}/warning`, {});
  btn.disabled = false;
  if (!r.ok) {
    flash(errorText(r), 'bad');
    return;
  }
  if (r.status === 202 && r.body.draft) {
    flash(t('drafted') + r.body.draft.id, 'ok');
    $<HTMLInputElement>('approve-id').value = r.body.draft.id;
    void open(id);
    return;
  }
  const w = r.body.warning;
  if (!w) return;
  flash(`${t('issued')} ${w.id} (${w.nationalId ?? ''})`, 'ok');
  $<HTMLInputElement>('watch-id').value = w.id;
  $<HTMLInputElement>('audit-wid').value = w.id;
  showTab('watch');
  watch(w.id);
}

export function initHazards(): void {
  $<HTMLFormElement>('hr-form').addEventListener('submit', (ev) => void file(ev));
  $('hr-refresh').addEventListener('click', () => void loadList());
  $('hr-state').addEventListener('change', () => void loadList());
  hooks.onTab.push((tab) => {
    if (tab === 'hazards' && state.me) void loadList();
  });
  hooks.onLang.push(() => {
    if (shown) render(shown);
  });
}
