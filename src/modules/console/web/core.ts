/* Duty console, shared parts: DOM helpers, the language, labels from the API, API calls and errors. */
import { DICT, type UiKey } from './dict';
import type { ApiError, ConsoleLabels, ConsoleMe, Lang, LabelTableName, Summary } from './types';

export type { UiKey };

/** What the views share: who the token is, the language, the labels, the watched warning. */
export const state = {
  lang: (localStorage.getItem('console.lang') === 'en' ? 'en' : 'zh') as Lang,
  me: null as ConsoleMe | null,
  labels: null as ConsoleLabels | null,
  watchedId: null as string | null,
  lastSummary: null as Summary | null,
};

/** Callbacks: the token's identity loaded; a tab shown; a summary received; the language switched. */
export const hooks = {
  onMe: [] as ((me: ConsoleMe) => void)[],
  onTab: [] as ((tab: string) => void)[],
  onSummary: [] as ((s: Summary) => void)[],
  onLang: [] as ((lang: Lang) => void)[],
};

/** The element with `id`, typed by the caller; a missing element is a bug in the page. */
export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} missing from the console page`);
  return node as T;
}

/** A form's named control. */
export function field<T extends HTMLElement = HTMLInputElement>(
  form: HTMLFormElement,
  name: string,
): T {
  const control = form.elements.namedItem(name);
  if (!control) throw new Error(`${form.id}: no field ${name}`);
  return control as unknown as T;
}

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | ((ev: Event) => void) | undefined>;

/** An element with attributes (`text`, `class`, `on…` handlers, others as attributes) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs?: Attrs | null,
  children?: Child[],
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined) continue;
    if (typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'text') e.textContent = v;
    else if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children ?? []) {
    if (c === null || c === undefined || c === false) continue;
    e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return e;
}

export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}

export function token(): string {
  return sessionStorage.getItem('console.token') ?? '';
}

/** The console's own words in the reader's language. */
export function t(key: UiKey): string {
  return DICT[state.lang][key] || DICT.zh[key] || key;
}

/** The name of a coded value (a state, a role, a channel …) from GET /v1/console/labels. */
export function label(table: LabelTableName, code: string | null | undefined): string {
  if (!code) return '';
  const set = state.labels?.[table];
  return set?.[state.lang][code] ?? set?.zh[code] ?? code;
}

export function roleName(role: string | null | undefined): string {
  return label('roles', role);
}

/** Loads the label tables once (public: needed before a token is pasted). */
export async function loadLabels(): Promise<void> {
  const r = await api<ConsoleLabels>('GET', '/v1/console/labels');
  if (r.ok) state.labels = r.body;
  else flash(errorText(r), 'bad');
}

export function flash(msg: string, kind?: 'ok' | 'bad' | 'err'): void {
  const f = $('flash');
  f.textContent = msg || '';
  f.className = kind ?? '';
}

/** An API answer: `body` is the payload when `ok`; `error` the API's error otherwise. */
export interface ApiResult<T> {
  status: number;
  ok: boolean;
  body: T;
  error: ApiError | null;
}

/** Calls the API; network errors and non-2xx are not thrown (status 0 for a network error). */
export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { Accept: 'application/json', ...extraHeaders };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  return request<T>(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** fetch, read as JSON or text; never throws. */
export async function request<T>(path: string, init: RequestInit): Promise<ApiResult<T>> {
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    return { status: 0, ok: false, body: null as T, error: null };
  }
  const type = res.headers.get('content-type') ?? '';
  const parsed: unknown = await (type.includes('json') ? res.json() : res.text()).catch(() => null);
  const ok = res.status >= 200 && res.status < 300;
  const error =
    !ok && parsed && typeof parsed === 'object' && 'error' in parsed
      ? ((parsed as { error: ApiError }).error ?? null)
      : null;
  return { status: res.status, ok, body: parsed as T, error };
}

/** The API's field name in the reader's language (`impact.people` → 威胁人数 …). */
export function fieldLabel(name: string): string {
  const base = String(name || '')
    .replace(/\[\d+\]$/, '')
    .replace(/\.\d+$/, '');
  const key = `fld_${base}`;
  if (key in DICT.zh) return t(key as UiKey);
  const last = base.split('.').pop() ?? base;
  return `fld_${last}` in DICT.zh ? t(`fld_${last}` as UiKey) : base;
}

const FIELD_RULES: [RegExp, string][] = [
  [
    /should not be empty|must not be empty|should not be null or undefined|is required|missing/i,
    '不能为空',
  ],
  [/must be a string/i, '必须是文字'],
  [/must be a UUID/i, '编号格式不正确'],
  [/must be one of|must be among|must be a valid enum/i, '取值不在允许范围内'],
  [/unknown grid/i, '网格不存在'],
  [/outside jurisdiction/i, '超出辖区'],
  [/ISO 8601|valid date/i, '时间格式不正确'],
  [/not a recipient/i, '此人不在该预警的接收人中'],
  [
    /responsible person with a mobile phone/i,
    '该网格及所在村没有可接收任务的人员（需有手机号，且未求助、未失联），请选择其他网格',
  ],
  [/longer than|shorter than|at most|must be/i, '格式或长度不符合要求'],
];

/** A field problem in Chinese: the common validator sentences are translated, others kept. */
export function fieldMessage(message: string): string {
  const m = String(message || '');
  if (state.lang === 'en') return m;
  for (const [re, zh] of FIELD_RULES) if (re.test(m)) return zh;
  return m;
}

function msgOf(e: ApiError): string {
  return (state.lang === 'en' ? e.messageEn || e.message : e.message || e.messageEn) ?? '';
}

/**
 * An API error as a sentence for people: the API's own (Chinese) message, or for a bad request
 * each field by its Chinese name and what is wrong with it; never a bare status code.
 */
export function errorText(r: Pick<ApiResult<unknown>, 'status' | 'error'>): string {
  if (!r.status) return t('networkError');
  const e = r.error;
  if (!e) return `${t('error')}（${r.status}）`;
  const en = state.lang === 'en';
  const fields = e.fields ?? [];
  if (fields.length && (e.code === 'VALIDATION_FAILED' || r.status === 400)) {
    return (
      t('e_VALIDATION_FAILED') +
      (en ? ': ' : '：') +
      fields
        .map((f) => fieldLabel(f.field) + (en ? ' ' : '') + fieldMessage(f.message))
        .join(en ? '; ' : '；')
    );
  }
  if (r.status === 403) return `${t('forbidden')} — ${msgOf(e)}`;
  if (r.status === 404) return `${t('notFound')} — ${msgOf(e)}`;
  const byCode = `e_${e.code ?? ''}`;
  return msgOf(e) || (byCode in DICT.zh ? t(byCode as UiKey) : t('error'));
}

export function requireToken(): boolean {
  if (token()) return true;
  flash(t('needToken'), 'bad');
  return false;
}

/** Whether the token may use a console action (GET /v1/console/me); all before it is known. */
export function can(action: string): boolean {
  return !state.me || state.me.can.includes(action);
}

export function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`;
}

export function secs(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : `${Math.round(x)}${t('seconds')}`;
}

export function shade(rate: number): string {
  if (rate >= 0.9) return 'c-good';
  if (rate >= 0.5) return 'c-mid';
  if (rate > 0) return 'c-low';
  return 'c-none';
}

/** The warning id in view: the one watched, else the one typed. */
export function watchedId(): string {
  return state.watchedId ?? $<HTMLInputElement>('watch-id').value.trim();
}

/** Shows a tab (and tells the views). */
export function showTab(name: string): void {
  for (const f of hooks.onTab) f(name);
  document.querySelectorAll<HTMLElement>('.tab').forEach((s) => {
    s.hidden = s.id !== `tab-${name}`;
  });
  document.querySelectorAll('#tabs button').forEach((b) => {
    b.classList.toggle('active', b.getAttribute('data-tab') === name);
  });
}
