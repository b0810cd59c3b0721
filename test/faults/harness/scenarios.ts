import { sleep } from './processes';
import type { Progress, Scenario, ScenarioContext } from './suite';

/** Answers the Postgres-outage scenario posts while the database is cut. */
const ANSWERS_DURING_OUTAGE = 20;

/** A quarter of the county's first messages done: the fan-out's sends are in full flow. */
const inFlow = (ctx: ScenarioContext) => (p: Progress) =>
  p.doneAttempts >= Math.max(1, Math.floor(ctx.expectedPeople * 0.25));

async function restartWorker(ctx: ScenarioContext, i = 0): Promise<void> {
  const w = ctx.workers[i];
  const pid = w.pid;
  await w.kill9();
  ctx.log(`kill -9 ${w.name} (pid ${pid})`);
  await sleep(1_000);
  await w.start();
  ctx.log(`${w.name} restarted (pid ${w.pid})`);
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'kill9-fanout',
    title: 'kill -9 of a worker during fan-out (restarted)',
    async fault(ctx) {
      const p = await ctx.waitFor('the fan-out under way', (x) => x.people > 0);
      await restartWorker(ctx);
      return `worker killed with ${p.people} people fanned out, ${p.doneAttempts} sends done`;
    },
  },
  {
    name: 'kill9-escalation',
    title: 'kill -9 of a worker during escalation (restarted)',
    async fault(ctx) {
      const p = await ctx.waitFor('叫应 step timers firing', (x) => x.steppedChains > 0);
      await restartWorker(ctx);
      return `worker killed with ${p.steppedChains} chains past their first step`;
    },
  },
  {
    name: 'redis-restart',
    title: 'Redis restarted with its data',
    async fault(ctx) {
      const p = await ctx.waitFor('sends in flow', inFlow(ctx));
      await ctx.infra.restartRedis(ctx.opts.faultMs);
      return `Redis down ${ctx.opts.faultMs} ms at ${p.doneAttempts} sends done, restarted on its AOF`;
    },
  },
  {
    name: 'redis-flushall',
    title: 'Redis emptied (FLUSHALL) while running',
    async fault(ctx) {
      const p = await ctx.waitFor('sends in flow', inFlow(ctx));
      await ctx.infra.flushRedis();
      return `FLUSHALL at ${p.doneAttempts} sends done`;
    },
  },
  {
    name: 'provider-brownout',
    title: 'provider brownout: 50% 500s, then no answer, then 429s, then recovery',
    async before(ctx) {
      ctx.provider.mode = { kind: 'fail', status: 500, ratio: 0.5 };
    },
    async fault(ctx) {
      const phase = ctx.opts.faultMs;
      await ctx.waitFor('the first sends', (x) => x.attempts > 0);
      await sleep(phase);
      // Held past the SDK's 15 s timeout when the phase is long enough, else cut (no answer);
      // half of them reach the provider first (accepted, answer lost).
      ctx.provider.mode = { kind: 'hang', holdMs: Math.min(phase, 16_000), forwardRatio: 0.5 };
      await sleep(phase);
      ctx.provider.mode = { kind: 'fail', status: 429, ratio: 1 };
      await sleep(phase);
      ctx.provider.mode = { kind: 'pass' };
      const c = ctx.provider.counts;
      return `${c.failed} answered 500/429, ${c.hung} unanswered (${c.hungAfterForward} after reaching the provider)`;
    },
  },
  {
    name: 'postgres-outage',
    title: 'Postgres refuses connections during sends',
    async fault(ctx) {
      const p = await ctx.waitFor('sends in flow', inFlow(ctx));
      const cutAt = Date.now();
      ctx.pg.cut();
      // People answer meanwhile (keypress 1, SMS reply 1): kept by the gateway, none may be lost.
      ctx.answers.push(...(await ctx.postAnswers(ANSWERS_DURING_OUTAGE)));
      await sleep(Math.max(0, ctx.opts.faultMs - (Date.now() - cutAt)));
      ctx.pg.up();
      return (
        `Postgres unreachable ${Date.now() - cutAt} ms from ${p.doneAttempts} sends done; ` +
        `${ctx.answers.length} answers posted meanwhile`
      );
    },
  },
  {
    name: 'webhooks-replayed',
    title: 'status callbacks, keypresses and replies replayed and late',
    async before(ctx) {
      ctx.webhooks.mode = { kind: 'replay', replayRatio: 0.3, lateRatio: 0.3, maxDelayMs: 3_000 };
    },
    async fault(ctx) {
      await ctx.waitFor(
        'every first message sent',
        (x) => x.fanoutDone && x.openAttempts === 0 && x.openPeople === 0,
      );
      ctx.webhooks.mode = { kind: 'pass' };
      const c = ctx.webhooks.counts;
      return `${c.replayed} webhooks posted twice, ${c.late} posted late (after later ones)`;
    },
  },
];
