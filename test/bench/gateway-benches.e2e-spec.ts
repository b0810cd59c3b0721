import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runAnswersBench } from '../../bench/answers.bench';
import { runEtaBench } from '../../bench/eta.bench';
import { runFanoutBench, type FanoutBenchResult } from '../../bench/fanout.bench';
import { testPgAdminUrl } from '../helpers/database';
import { testRedisUrl } from '../helpers/redis';

/**
 * `npm run bench -- fanout|answers|scale` end to end with tiny numbers, so that the benches cannot
 * rot: everyone is contacted once, every answer is recorded, the reports are written with their
 * fields. Their speed is never asserted here.
 */
describe('npm run bench -- fanout | answers | scale', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gateway-benches-'));
  const saved = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL };
  const lines: string[] = [];
  const log = (msg: string) => lines.push(msg);

  beforeAll(() => {
    // A database of its own per run on the test server (dropped after), the test Redis.
    process.env.DATABASE_URL = testPgAdminUrl();
    process.env.REDIS_URL = testRedisUrl();
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

  function expectEveryoneContactedOnce(r: FanoutBenchResult, people: number) {
    expect(r.gateway.timedOut).toBe(false);
    expect(r.recipients).toBe(people);
    expect(r.attempts.handed).toBe(r.attempts.total);
    // Each person one SMS; each grid leader (one per 100 people) one call as well.
    expect(r.attempts.sms).toBe(people);
    expect(r.attempts.voice).toBe(r.contacted.gridLeaders);
    expect(r.contacted).toMatchObject({
      smsPeople: people,
      smsTwice: 0,
      voicePeople: r.contacted.gridLeaders,
      voiceTwice: 0,
    });
  }

  function expectReportFields(file: string) {
    const json = readJson(file);
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.machine.memoryGb).toBeGreaterThan(0);
    expect(json.versions.node).toMatch(/^v\d+/);
    expect(json.versions.postgres).toMatch(/^\d+/);
    expect(json.versions.redis).toMatch(/^\d+/);
    expect(json.options.people).toBeGreaterThan(0);
    return json;
  }

  it('eta with real rate limits: the ETA and the achieved rates are measured, the reports written', async () => {
    const r = await runEtaBench({
      people: 150,
      provider: 'null',
      smsPerSecond: 50,
      callsPerSecond: 1,
      timeoutSeconds: 120,
      resultsDir: dir,
      log,
    });
    expect(r.timedOut).toBe(false);
    // Each person one SMS, each of the two grid leaders one call.
    expect(r.rates.map((c) => [c.channel, c.sends, c.limitPerSecond])).toEqual([
      ['sms', 150, 50],
      ['voice', 2, 1],
    ]);
    expect(r.attempts).toBe(152);
    expect(r.etaSeconds).toBeGreaterThan(0);
    expect(r.actualSeconds).toBeGreaterThan(0);
    expect(r.etaError).toBeCloseTo((r.etaSeconds! - r.actualSeconds!) / r.actualSeconds!, 6);
    const sms = r.rates[0];
    expect(sms.achievedPerSecond).toBeCloseTo((sms.sends - 1) / sms.spanSeconds!, 6);
    const json = readJson(r.files!.json);
    expect(json).toMatchObject({ scenario: 'eta', attempts: 152, warningId: r.warningId });
    const md = fs.readFileSync(r.files!.markdown, 'utf8');
    expect(md).toContain('ETA error, (ETA − actual) / actual');
    expect(md).toContain('sms: 150 sends at');
  });

  it('fanout over HTTP with the twilio SDK: everyone contacted once, the limit measured, the reports written', async () => {
    const r = await runFanoutBench({
      people: 200,
      provider: 'http',
      timeoutSeconds: 120,
      smsConcurrency: 10,
      voiceConcurrency: 5,
      resultsDir: dir,
      log,
    });
    expectEveryoneContactedOnce(r, 200);
    expect(r.limit).toMatchObject({ deliveries: 200, attempts: r.attempts.total });
    expect(r.limit!.jobs.requests).toBe(r.attempts.total);
    expect(r.rows.map((x) => x.measure)).toEqual([
      'rows of the warning written (fanout_done_at)',
      'every first contact handed to the provider',
    ]);
    for (const row of r.rows) {
      expect(row.gatewayMs).toBeGreaterThan(0);
      expect(row.limitMs).toBeGreaterThan(0);
      expect(Number.isFinite(row.ratio)).toBe(true);
    }
    const json = expectReportFields(r.files!.json);
    expect(json.options.provider).toBe('http');
    expect(json.rows).toHaveLength(2);
    const md = fs.readFileSync(r.files!.markdown, 'utf8');
    expect(md).toContain('| every first contact handed to the provider |');
    expect(path.basename(r.files!.json)).toMatch(/^fanout-.*\.json$/);
    expect(lines.join('\n')).toContain('| measure | gateway | limit |');
  });

  it('scale with the in-process null provider: everyone contacted once and the peak memory reported', async () => {
    const r = await runFanoutBench({
      name: 'scale',
      people: 250,
      provider: 'null',
      timeoutSeconds: 120,
      smsConcurrency: 10,
      voiceConcurrency: 5,
      resultsDir: dir,
      log,
    });
    expectEveryoneContactedOnce(r, 250);
    expect(r.limit!.jobs.requests).toBe(0);
    expect(r.memory!.nodePeakMb).toBeGreaterThan(0);
    expect(r.memory!.redisPeakMb).toBeGreaterThan(0);
    const json = expectReportFields(r.files!.json);
    expect(json.memory.nodePeakMb).toBeGreaterThan(0);
    expect(path.basename(r.files!.markdown)).toMatch(/^scale-.*\.md$/);
  });

  it('answers: keypresses during a fan-out are all answered and recorded, the no-op limit measured', async () => {
    const r = await runAnswersBench({
      people: 200,
      provider: 'http',
      rate: 20,
      seconds: 2,
      resultsDir: dir,
      log,
    });
    expect(r.gateway.offered).toBe(40);
    expect(r.gateway.failed).toBe(0);
    expect(r.gateway.answered).toBe(40);
    expect(r.gateway.recorded).toBe(40);
    expect(r.gateway.lost).toBe(0);
    expect(r.limit.answered).toBe(40);
    expect(r.rows.map((x) => x.measure)).toEqual([
      'p50 ms, request to webhook answered',
      'p99 ms, request to webhook answered',
      'p50 ms, request to answer recorded',
      'p99 ms, request to answer recorded',
      'webhooks answered 2xx within 1 s',
      'answers per second achieved',
    ]);
    expect(r.gateway.recordedLatency.p99Ms).toBeGreaterThan(0);
    // The test's Postgres keeps no commit times: measured to each transaction's start, and so
    // without the split into before and in the transaction (the bench's own server keeps them).
    expect(r.gateway.recordedLatency.clock).toBe('transaction start');
    expect(r.gateway.recordedLatency.inTransaction).toBeUndefined();
    // The timeline: about 2 s of sending, second by second, every request in it once.
    const seconds = r.gateway.timeline.map((t) => t.fromS);
    expect(seconds[0]).toBe(0);
    expect(seconds).toEqual([...seconds].sort((a, b) => a - b));
    expect(seconds.every((x) => Number.isInteger(x) && x < 10)).toBe(true);
    expect(r.gateway.timeline.reduce((n, t) => n + t.offered, 0)).toBe(40);
    // API, workers and the no-op server ran in processes of their own.
    expect(r.processes.api.peakMb).toBeGreaterThan(0);
    expect(r.processes.worker.peakMb).toBeGreaterThan(0);
    expect(r.processes.noop.peakMb).toBeGreaterThan(0);
    const json = expectReportFields(r.files!.json);
    expect(json.options).toMatchObject({ rate: 20, seconds: 2 });
    expect(json.gateway.p99Ms).toBeGreaterThan(0);
    const md = fs.readFileSync(r.files!.markdown, 'utf8');
    expect(md).toContain('| p99 ms, request to webhook answered |');
    expect(md).toContain('| from s | offered |');
  });
});
