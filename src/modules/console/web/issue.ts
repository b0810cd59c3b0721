/* Duty console, issuing: the draft form, each channel's preview, issuing and the two-person release. */
import {
  $,
  api,
  clear,
  el,
  errorText,
  field,
  fieldLabel,
  fieldMessage,
  flash,
  label,
  requireToken,
  roleName,
  showTab,
  state,
  t,
  type ApiResult,
  type UiKey,
} from './core';
import { watch } from './watch';

/** A datetime-local value in the browser's time zone; to the second when `seconds` is set. */
export function localInput(d: Date, seconds?: boolean): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}` +
    (seconds ? `:${pad(d.getSeconds())}` : '')
  );
}

export function list(v: string): string[] {
  return v
    .split(/[,，\s]+/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function iso(v: string): string | undefined {
  if (!v) return undefined;
  const d = new Date(v);
  return isNaN(d.getTime()) ? v : d.toISOString();
}

/** The body of POST /v1/warnings as the form holds it. */
export interface WarningDraft {
  kind?: string;
  level: string;
  hazard: string;
  status?: string;
  headline: string;
  description: string;
  instruction: string;
  areas?: string[];
  hazardPoints?: string[];
  effective?: string;
  onset?: string;
  expires?: string;
  extent?: string;
  shelter?: string;
  impact?: { people: number; households: number };
}

const value = (f: HTMLFormElement, name: string) =>
  field<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(f, name).value;

function draft(): WarningDraft {
  const f = $<HTMLFormElement>('issue-form');
  const body: WarningDraft = {
    kind: value(f, 'kind'),
    level: value(f, 'level'),
    hazard: value(f, 'hazard'),
    status: value(f, 'status'),
    headline: value(f, 'headline').trim(),
    description: value(f, 'description').trim(),
    instruction: value(f, 'instruction').trim(),
    areas: list(value(f, 'areas')),
    hazardPoints: list(value(f, 'hazardPoints')),
    effective: iso(value(f, 'effective')),
    onset: iso(value(f, 'onset')),
    expires: iso(value(f, 'expires')),
  };
  if (body.kind === 'imminent') {
    if (value(f, 'extent').trim()) body.extent = value(f, 'extent').trim();
    if (value(f, 'shelter').trim()) body.shelter = value(f, 'shelter').trim();
    if (value(f, 'impactPeople') !== '' || value(f, 'impactHouseholds') !== '') {
      body.impact = {
        people: Number(value(f, 'impactPeople') || 0),
        households: Number(value(f, 'impactHouseholds') || 0),
      };
    }
  }
  if (!body.hazardPoints?.length) delete body.hazardPoints;
  return body;
}

export function clearFieldErrors(formSel = '#issue-form'): void {
  document.querySelectorAll(`${formSel} .err`).forEach((n) => (n.textContent = ''));
  document.querySelectorAll(`${formSel} .invalid`).forEach((n) => n.classList.remove('invalid'));
}

/** Puts each `error.fields[]` problem next to its field; unknown fields go to the bottom. */
export function showFieldErrors(r: ApiResult<unknown>, formSel = '#issue-form'): void {
  clearFieldErrors(formSel);
  const fields = r.error?.fields ?? [];
  if (!fields.length) {
    flash(errorText(r), 'bad');
    return;
  }
  for (const p of fields) {
    const name = String(p.field || '')
      .replace(/\[\d+\]$/, '')
      .replace(/\.\d+$/, '');
    const slot =
      document.querySelector(`${formSel} [data-err-for="${name}"]`) ??
      document.querySelector(`${formSel} [data-err-for="${name.split('.')[0]}"]`) ??
      document.querySelector(`${formSel} [data-err-for="_other"]`);
    if (!slot) continue;
    slot.textContent =
      (slot.textContent ? `${slot.textContent}；` : '') +
      fieldLabel(p.field) +
      (state.lang === 'en' ? ': ' : '：') +
      fieldMessage(p.message);
    const input = slot.parentNode?.querySelector('input,select,textarea');
    if (input && slot.getAttribute('data-err-for') !== '_other') input.classList.add('invalid');
  }
  flash(t('fixFields'), 'bad');
}

interface PreviewBody {
  sms: { short: string; long: string; shortSegments: number; longSegments: number };
  voice: { script: string };
  robot: { title: string; markdown: string[] };
  email?: { subject: string; text: string };
  broadcast?: { text: string; repeat: number };
}

interface CountBody {
  total: number;
  byRole?: Record<string, number>;
}

async function preview(): Promise<void> {
  if (!requireToken()) return;
  const body = draft();
  flash('');
  const [msg, count] = await Promise.all([
    api<PreviewBody>('POST', '/v1/console/preview', body),
    api<CountBody>('POST', '/v1/directory/targeting/preview', {
      areas: body.areas,
      hazardPoints: body.hazardPoints,
    }),
  ]);
  if (msg.status !== 200) {
    $('preview').hidden = true;
    showFieldErrors(msg);
    return;
  }
  clearFieldErrors();
  $('preview').hidden = false;
  const tbl = $('preview-roles');
  clear(tbl);
  if (count.ok) {
    for (const [role, n] of Object.entries(count.body.byRole ?? {})) {
      tbl.appendChild(
        el('tr', null, [
          el('td', { text: roleName(role) }),
          el('td', { class: 'num', text: String(n) }),
        ]),
      );
    }
    tbl.appendChild(
      el('tr', { class: 'total' }, [
        el('td', { text: t('total') }),
        el('td', { class: 'num', id: 'preview-total', text: String(count.body.total) }),
      ]),
    );
  } else {
    tbl.appendChild(el('tr', null, [el('td', { text: errorText(count) })]));
  }
  const m = msg.body;
  $('pv-sms-short').textContent = `${m.sms.short}  [${m.sms.shortSegments}]`;
  $('pv-sms-long').textContent = `${m.sms.long}  [${m.sms.longSegments}]`;
  $('pv-voice').textContent = m.voice.script;
  $('pv-robot').textContent = `${m.robot.title}\n\n${m.robot.markdown.join('\n\n---\n\n')}`;
  $('pv-email').textContent = m.email ? `${m.email.subject}\n\n${m.email.text}` : '';
  $('pv-broadcast').textContent = m.broadcast
    ? `${m.broadcast.text}  [×${m.broadcast.repeat}]`
    : '';
}

interface IssuedBody {
  id: string;
  nationalId?: string;
}

/** Watches a warning just issued or approved. */
function watchIssued(w: IssuedBody): void {
  flash(`${t('issued')} ${w.id} (${w.nationalId ?? ''})`, 'ok');
  $<HTMLInputElement>('watch-id').value = w.id;
  $<HTMLInputElement>('audit-wid').value = w.id;
  showTab('watch');
  watch(w.id);
}

async function issue(ev: Event): Promise<void> {
  ev.preventDefault();
  if (!requireToken()) return;
  const key = `console-${Date.now()}-${Math.random().toString(36).slice(2)}`;
  const r = await api<IssuedBody>('POST', '/v1/warnings', draft(), { 'Idempotency-Key': key });
  // Two-person release: a public red warning is a draft until another officer approves it.
  if (r.status === 202) {
    clearFieldErrors();
    flash(t('drafted') + r.body.id, 'ok');
    $<HTMLInputElement>('approve-id').value = r.body.id;
    return;
  }
  if (!r.ok) {
    showFieldErrors(r);
    return;
  }
  clearFieldErrors();
  watchIssued(r.body);
}

/* ---------- two-person release ---------- */
let draftHash: string | null = null;

interface DraftBody {
  state: string;
  warning: { headline: string };
  cap?: { identifier: string; sender: string } | null;
  preview: {
    previewHash: string;
    recipients: { total: number };
    channels?: Record<string, string | Record<string, unknown> | null>;
    perChannel?: { channel: string; recipients: number; unit: string; text: string }[];
  };
}

const UNIT_KEYS: Record<string, UiKey> = {
  people: 'unitPeople',
  groups: 'unitGroups',
  terminals: 'unitTerminals',
};

/** A channel's name: robots are one channel here (the labels name each platform). */
function channelName(channel: string): string {
  return channel === 'robot' ? t('robot') : label('channels', channel);
}

async function loadDraft(): Promise<void> {
  if (!requireToken()) return;
  draftHash = null;
  const btn = $<HTMLButtonElement>('approve-btn');
  btn.disabled = true;
  const id = $<HTMLInputElement>('approve-id').value.trim();
  const r = await api<DraftBody>('GET', `/v1/warnings/drafts/${encodeURIComponent(id)}`);
  if (r.status !== 200) {
    $('approve-preview').textContent = '';
    flash(r.status === 404 ? t('draftNotFound') : errorText(r), 'err');
    return;
  }
  const d = r.body;
  const lines = [d.warning.headline, `${t('draftRecipients')}: ${d.preview.recipients.total}`];
  if (d.cap) lines.push(`${t('draftCap')}: ${d.cap.sender} · ${d.cap.identifier}`);
  // Per channel: who it reaches and its text, as a person will read or hear it.
  for (const c of d.preview.perChannel ?? []) {
    const unit = t(UNIT_KEYS[c.unit] ?? 'unitPeople');
    lines.push('', `— ${channelName(c.channel)} · ${c.recipients} ${unit} —`, c.text);
  }
  // A draft shown without per-channel figures: each channel's texts alone.
  for (const [k, v] of d.preview.perChannel ? [] : Object.entries(d.preview.channels ?? {})) {
    lines.push('', `— ${label('channels', k)} —`);
    if (typeof v === 'string') {
      lines.push(v);
      continue;
    }
    for (const [f, x] of Object.entries(v ?? {})) {
      if (typeof x === 'string') lines.push(`[${f}] ${x}`);
      else if (Array.isArray(x)) lines.push(`[${f}] ${x.join('\n')}`);
    }
  }
  $('approve-preview').textContent = lines.join('\n');
  draftHash = d.preview.previewHash;
  btn.disabled = d.state !== 'draft';
}

async function approveDraft(): Promise<void> {
  if (!requireToken() || !draftHash) return;
  const id = $<HTMLInputElement>('approve-id').value.trim();
  const r = await api<IssuedBody>('POST', `/v1/warnings/${encodeURIComponent(id)}/approve`, {
    previewHash: draftHash,
  });
  if (!r.ok) {
    flash(errorText(r), 'err');
    return;
  }
  $<HTMLButtonElement>('approve-btn').disabled = true;
  watchIssued(r.body);
}

export function initIssue(): void {
  const f = $<HTMLFormElement>('issue-form');
  const now = new Date();
  field(f, 'effective').value = localInput(now);
  field(f, 'onset').value = localInput(new Date(now.getTime() + 2 * 3600e3));
  field(f, 'expires').value = localInput(new Date(now.getTime() + 24 * 3600e3));
  const kind = field<HTMLSelectElement>(f, 'kind');
  kind.addEventListener('change', () => {
    const box = document.querySelector<HTMLElement>('.imminent-only');
    if (box) box.hidden = kind.value !== 'imminent';
  });
  f.addEventListener('submit', (ev) => void issue(ev));
  $('approve-load').addEventListener('click', () => void loadDraft());
  $('approve-btn').addEventListener('click', () => void approveDraft());
  $('preview-btn').addEventListener('click', () => void preview());
}
