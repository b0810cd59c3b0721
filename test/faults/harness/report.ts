import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ScenarioResult } from './suite';

const seconds = (ms: number | null) => (ms === null ? 'never' : `${(ms / 1000).toFixed(1)} s`);

/** The results table, one row per scenario. */
export function markdownTable(results: ScenarioResult[]): string {
  const head =
    '| scenario | people | attempts | provider sends | duplicates | unaccounted | answers during the fault (lost, re-timed) | time to recover |\n' +
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |';
  const rows = results.map(
    (r) =>
      `| ${r.scenario} | ${r.people} | ${r.attempts} | ${r.providerSends} | ${r.duplicates} | ${r.unaccounted} | ${r.answersDuringFault ? `${r.answersDuringFault} (${r.answersLost}, ${r.answersRetimed})` : '—'} | ${seconds(r.recoverMs)} |`,
  );
  return [head, ...rows].join('\n');
}

/** Writes `faults-<time>.json` and `.md` into `dir`; returns their paths. */
export function writeResults(
  dir: string,
  meta: Record<string, unknown>,
  results: ScenarioResult[],
): { json: string; md: string } {
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const json = path.join(dir, `faults-${stamp}.json`);
  const md = path.join(dir, `faults-${stamp}.md`);
  fs.writeFileSync(json, JSON.stringify({ ...meta, results }, null, 2));
  const details = results.map(
    (r) =>
      `### ${r.scenario}: ${r.title}\n\n` +
      `- fault: ${r.fault}\n` +
      `- final states: ${Object.entries(r.states)
        .map(([s, n]) => `${s} ${n}`)
        .join(', ')}\n` +
      `- people without a delivery: ${r.missingPeople}; drained: ${r.drained}; scenario took ${seconds(r.totalMs)}\n` +
      (r.duplicateExamples.length
        ? `- duplicates, e.g.: ${r.duplicateExamples.map((d) => `${d.channel} ${d.to} ×${d.times}${d.attempts ? ` (attempts ${d.attempts.join(', ')}: ${d.text ?? ''}…)` : ''}`).join('; ')}\n`
        : ''),
  );
  fs.writeFileSync(
    md,
    `# Fault suite\n\n${Object.entries(meta)
      .map(([k, v]) => `- ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join('\n')}\n\n${markdownTable(results)}\n\n${details.join('\n')}`,
  );
  return { json, md };
}
