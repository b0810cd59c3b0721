/* Duty console, 更新预警: a new version of the watched warning, prefilled from the current one. */
import { $, api, errorText, field, flash, requireToken, t, watchedId } from './core';
import {
  clearFieldErrors,
  iso,
  list,
  localInput,
  showFieldErrors,
  type WarningDraft,
} from './issue';

let updateId: string | null = null;
/** The update form's times as loaded: the input's value and the API's exact value. */
let updateTimes: Record<string, { shown: string; iso?: string }> = {};
const TIMES = ['effective', 'onset', 'expires'] as const;

interface WarningDetail {
  currentVersion?: number;
  content?: {
    version?: number;
    nationalId?: string;
    level?: string;
    hazard?: string;
    headline?: string;
    description?: string;
    instruction?: string;
    areas?: (string | { code: string })[];
    hazardPoints?: (string | { code: string })[];
    effective?: string;
    onset?: string;
    expires?: string;
    extent?: string;
    shelter?: string;
    impact?: { people: number; households: number };
  };
}

function codes(xs: (string | { code: string })[] | undefined): string {
  return (xs ?? [])
    .map((a) => (typeof a === 'string' ? a : a.code))
    .filter(Boolean)
    .join(', ');
}

const input = (name: string) =>
  field<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
    $<HTMLFormElement>('update-form'),
    name,
  );

/**
 * Loads the watched warning's current version into the update form. While it loads the form is
 * busy (`aria-busy`, its button disabled): what the officer types meanwhile would be overwritten,
 * and a submit would send the version shown before.
 */
async function openUpdate(): Promise<void> {
  const id = watchedId();
  if (!requireToken() || !id) return;
  const form = $('update-form');
  const button = $<HTMLButtonElement>('update-btn');
  form.setAttribute('aria-busy', 'true');
  button.disabled = true;
  try {
    await loadUpdate(id);
  } finally {
    form.removeAttribute('aria-busy');
    button.disabled = false;
  }
}

async function loadUpdate(id: string): Promise<void> {
  const r = await api<WarningDetail>('GET', `/v1/warnings/${encodeURIComponent(id)}`);
  if (r.status !== 200) {
    flash(errorText(r), 'bad');
    return;
  }
  const c = r.body.content ?? {};
  updateId = id;
  input('level').value = c.level ?? 'red';
  input('hazard').value = c.hazard ?? 'landslide';
  input('headline').value = c.headline ?? '';
  input('description').value = c.description ?? '';
  input('instruction').value = c.instruction ?? '';
  input('areas').value = codes(c.areas);
  input('hazardPoints').value = codes(c.hazardPoints);
  updateTimes = {};
  for (const k of TIMES) {
    const at = c[k];
    input(k).value = at ? localInput(new Date(at), true) : '';
    // Read back: the input normalises what it was given (e.g. drops ":00" seconds).
    updateTimes[k] = { shown: input(k).value, iso: at };
  }
  input('extent').value = c.extent ?? '';
  input('shelter').value = c.shelter ?? '';
  input('impactPeople').value = c.impact ? String(c.impact.people) : '';
  input('impactHouseholds').value = c.impact ? String(c.impact.households) : '';
  const version = String(r.body.currentVersion ?? c.version ?? '');
  $('update-current').textContent =
    `${t('currentVersion')} ${version}${c.nationalId ? ` · ${c.nationalId}` : ''}`;
  $('update-current').setAttribute('data-version', version);
  clearFieldErrors('#update-form');
  $('update-result').textContent = '';
  $('update-form').hidden = false;
}

/** A time of the update form: the loaded value exactly (milliseconds too) unless the officer changed it. */
function updateTime(k: (typeof TIMES)[number]): string | undefined {
  const was = updateTimes[k];
  if (was && input(k).value === was.shown) return was.iso;
  return iso(input(k).value);
}

function updateDraft(): Omit<WarningDraft, 'kind' | 'status'> {
  const body: Omit<WarningDraft, 'kind' | 'status'> = {
    level: input('level').value,
    hazard: input('hazard').value,
    headline: input('headline').value.trim(),
    description: input('description').value.trim(),
    instruction: input('instruction').value.trim(),
    areas: list(input('areas').value),
    hazardPoints: list(input('hazardPoints').value),
    effective: updateTime('effective'),
    onset: updateTime('onset'),
    expires: updateTime('expires'),
  };
  if (input('extent').value.trim()) body.extent = input('extent').value.trim();
  if (input('shelter').value.trim()) body.shelter = input('shelter').value.trim();
  if (input('impactPeople').value !== '' || input('impactHouseholds').value !== '') {
    body.impact = {
      people: Number(input('impactPeople').value || 0),
      households: Number(input('impactHouseholds').value || 0),
    };
  }
  if (!body.hazardPoints?.length) delete body.hazardPoints;
  if (!body.areas?.length) delete body.areas;
  if (!body.onset) delete body.onset;
  return body;
}

async function submitUpdate(ev: Event): Promise<void> {
  ev.preventDefault();
  const id = updateId ?? watchedId();
  if (!requireToken() || !id) return;
  const r = await api<{ version: number; nationalId?: string }>(
    'POST',
    `/v1/warnings/${encodeURIComponent(id)}/updates`,
    updateDraft(),
  );
  const res = $('update-result');
  if (!r.ok) {
    res.textContent = '';
    showFieldErrors(r, '#update-form');
    return;
  }
  clearFieldErrors('#update-form');
  const v = String(r.body.version);
  const national = r.body.nationalId ? ` · ${r.body.nationalId}` : '';
  res.className = 'ok';
  res.setAttribute('data-version', v);
  res.textContent = `${t('updated')} ${v}${national}`;
  $('update-current').textContent = `${t('currentVersion')} ${v}${national}`;
  $('update-current').setAttribute('data-version', v);
  flash(res.textContent, 'ok');
}

export function initUpdate(): void {
  $('update-open-btn').addEventListener('click', () => void openUpdate());
  $('update-form').addEventListener('submit', (ev) => void submitUpdate(ev));
}
