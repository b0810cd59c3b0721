/*
 * Duty console: the entry point (bundled by esbuild into /console/assets/console.js; no inline
 * script, so the strict CSP holds). All data through the gateway API with the pasted token; the
 * names of coded values (states, roles, channels, levels …) from GET /v1/console/labels.
 */
import { initAudit } from './audit';
import {
  $,
  api,
  errorText,
  flash,
  hooks,
  label,
  loadLabels,
  showTab,
  state,
  t,
  token,
  type UiKey,
} from './core';
import { initHazards } from './hazards';
import { initHistogram } from './histogram';
import { initIssue } from './issue';
import { initMyGrid } from './mygrid';
import { initPeople } from './people';
import { initRosters } from './rosters';
import type { ConsoleMe, LabelTableName } from './types';
import { initUpdate } from './update';
import { initWatch, renderSummary, stopWatching } from './watch';

/** The page's words (`data-i18n`), placeholders and the names of coded values (`data-label`). */
function applyLang(): void {
  document.documentElement.lang = state.lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('title');
  document.querySelectorAll('[data-i18n]').forEach((n) => {
    n.textContent = t(n.getAttribute('data-i18n') as UiKey);
  });
  document.querySelectorAll('[data-i18n-placeholder]').forEach((n) => {
    n.setAttribute('placeholder', t(n.getAttribute('data-i18n-placeholder') as UiKey));
  });
  // <option value="red" data-label="levels">: the option's name from the label table.
  document.querySelectorAll<HTMLOptionElement>('option[data-label]').forEach((o) => {
    o.textContent = label(o.getAttribute('data-label') as LabelTableName, o.value);
  });
  for (const f of hooks.onLang) f(state.lang);
}

/** Loads who the token is and shows only what it may do. */
async function loadMe(): Promise<void> {
  if (!token()) {
    state.me = null;
    applyRole();
    return;
  }
  const r = await api<ConsoleMe>('GET', '/v1/console/me');
  if (r.status !== 200) {
    state.me = null;
    applyRole();
    flash(errorText(r), 'bad');
    return;
  }
  state.me = r.body;
  applyRole();
  for (const f of hooks.onMe) f(r.body);
}

/** Hides every tab, button and section marked `data-can` that the token may not use. */
function applyRole(): void {
  const me = state.me;
  document.body.setAttribute('data-role', me ? me.role : '');
  document.querySelectorAll<HTMLElement>('[data-can]').forEach((n) => {
    const need = (n.getAttribute('data-can') ?? '').split(' ');
    n.hidden = me ? !need.some((a) => me.can.includes(a)) : n.getAttribute('data-can') === 'myGrid';
  });
  // The tab in view is one the token may not use: the first it may (a grid member's own grid).
  const cur = document.querySelector<HTMLElement>('#tabs button.active');
  if (cur?.hidden) {
    const first = document.querySelector('#tabs button:not([hidden])');
    if (first) showTab(first.getAttribute('data-tab') ?? 'issue');
  }
  if (state.lastSummary) renderSummary(state.lastSummary);
}

document.addEventListener('DOMContentLoaded', () => {
  const tokenInput = $<HTMLInputElement>('token');
  tokenInput.value = token();
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem('console.token', tokenInput.value.trim());
    flash(t('tokenSaved'), 'ok');
    void loadMe();
  });
  $('forget').addEventListener('click', () => {
    sessionStorage.removeItem('console.token');
    tokenInput.value = '';
    stopWatching();
    flash(t('tokenCleared'));
    state.me = null;
    applyRole();
  });
  $('lang').addEventListener('click', () => {
    state.lang = state.lang === 'zh' ? 'en' : 'zh';
    localStorage.setItem('console.lang', state.lang);
    applyLang();
  });
  document.querySelectorAll('#tabs button').forEach((b) => {
    b.addEventListener('click', () => showTab(b.getAttribute('data-tab') ?? 'issue'));
  });
  initIssue();
  initWatch();
  initPeople();
  initHistogram();
  initUpdate();
  initAudit();
  initMyGrid();
  initHazards();
  initRosters();
  showTab('issue');
  applyLang();
  applyRole();
  // The names of states, roles and channels come from the server: shown once they arrive.
  void loadLabels().then(() => {
    applyLang();
    if (token()) void loadMe();
  });
});
