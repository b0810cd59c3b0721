import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { AppException } from '../errors/app.exception';
import { admissionClassOf, WebhookAdmission } from './webhook-admission';

/** A gate the handlers wait at until the test opens it. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/**
 * Load shedding of the webhooks, deterministically: handlers are held open, so exactly as many
 * webhooks as the bound are in hand and every further one is answered 503 at once (answers: kept
 * in the spool first, up to as many again).
 */
describe('WebhookAdmission', () => {
  let server: Server;
  let base: string;
  let admission: WebhookAdmission;
  let held = gate();
  let recording = gate();
  let spooling = gate();
  let entered = 0;
  /** Answers in hand each time the admission said answers are pressing. */
  const pressing: number[] = [];

  beforeAll(async () => {
    admission = new WebhookAdmission({
      maxCallbacks: 3,
      maxAnswers: 2,
      ackMs: 1,
      pressureAt: 1,
      onAnswersPressing: () => pressing.push(admission.inHand.answer),
    });
    const app = express();
    app.use(admission.middleware());
    // A status callback whose handler waits at the gate.
    app.post('/webhooks/twilio/sms/status', async (_req, res) => {
      entered++;
      await held.opened;
      res.status(204).end();
    });
    // A keypress whose recording waits at its gate: answered at the deadline meanwhile.
    // Past the answers' bound: kept in the spool (held at its own gate), answered "spooled".
    const answer = async (_req: Request, res: Response) => {
      if (admission.spoolOnly(res)) {
        await spooling.opened;
        res.status(200).send('spooled');
        return;
      }
      const r = await admission.within(
        res,
        recording.opened.then(() => 'recorded'),
        () => undefined,
      );
      res.status(200).send(r.done ? r.value : 'acknowledged');
    };
    app.post('/webhooks/twilio/voice/:id/gather', answer);
    app.post('/webhooks/twilio/sms', answer);
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const e = err as AppException;
      res.setHeader('Retry-After', String(e.details?.retryAfter ?? ''));
      res.status(e instanceof AppException && e.code === 'SERVICE_UNAVAILABLE' ? 503 : 500);
      res.json({ error: { code: e.code } });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    held.open();
    recording.open();
    spooling.open();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  const post = (path: string) =>
    fetch(`${base}${path}`, { method: 'POST', body: 'x=1' }).then(async (r) => ({
      status: r.status,
      retryAfter: r.headers.get('retry-after'),
      text: await r.text(),
    }));

  it('tells answers from other callbacks', () => {
    expect(admissionClassOf('POST', '/webhooks/twilio/voice/abc/gather')).toBe('answer');
    expect(admissionClassOf('POST', '/webhooks/twilio/sms')).toBe('answer');
    expect(admissionClassOf('POST', '/webhooks/twilio/sms/status')).toBe('callback');
    expect(admissionClassOf('POST', '/webhooks/twilio/voice/abc/status')).toBe('callback');
    expect(admissionClassOf('POST', '/webhooks/broadcast/receipts')).toBe('callback');
    expect(admissionClassOf('GET', '/v1/warnings')).toBeUndefined();
  });

  it('holds as many callbacks as the bound and answers every further one 503 with Retry-After', async () => {
    held = gate();
    entered = 0;
    const first = Array.from({ length: 3 }, () => post('/webhooks/twilio/sms/status'));
    await new Promise<void>((resolve) => {
      const check = () => (entered === 3 ? resolve() : setImmediate(check));
      check();
    });
    const more = await Promise.all(
      Array.from({ length: 7 }, () => post('/webhooks/twilio/sms/status')),
    );
    expect(more.map((r) => r.status)).toEqual(Array(7).fill(503));
    expect(more.every((r) => r.retryAfter === '1')).toBe(true);
    expect(JSON.parse(more[0].text).error.code).toBe('SERVICE_UNAVAILABLE');
    expect(admission.inHand.callback).toBe(3);
    expect(entered).toBe(3);
    // Answers have a bound of their own: a callback flood does not shed them.
    recording = gate();
    recording.open();
    expect((await post('/webhooks/twilio/voice/a/gather')).text).toBe('recorded');
    held.open();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([204, 204, 204]);
    // Freed: admitted again.
    held = gate();
    held.open();
    expect((await post('/webhooks/twilio/sms/status')).status).toBe(204);
  });

  it('acknowledges answers past the deadline, keeps counting them until recorded, spools past the bound and sheds past that', async () => {
    recording = gate();
    spooling = gate();
    const shedBefore = admission.shed.answer;
    // Both answered before they are recorded (the recording is held).
    const acks = await Promise.all([
      post('/webhooks/twilio/voice/a/gather'),
      post('/webhooks/twilio/sms'),
    ]);
    expect(acks.map((r) => [r.status, r.text])).toEqual([
      [200, 'acknowledged'],
      [200, 'acknowledged'],
    ]);
    // Still being recorded: they fill the answers' bound, the next ones may only be spooled.
    expect(admission.inHand.answer).toBe(2);
    const spooled = [post('/webhooks/twilio/voice/b/gather'), post('/webhooks/twilio/sms')];
    await new Promise<void>((resolve) => {
      const check = () => (admission.spoolingInHand === 2 ? resolve() : setImmediate(check));
      check();
    });
    // As many being spooled as the bound too: the next is shed.
    const shed = await post('/webhooks/twilio/voice/b/gather');
    expect(shed.status).toBe(503);
    expect(shed.retryAfter).toBe('1');
    expect(admission.shed.answer - shedBefore).toBe(1);
    spooling.open();
    expect((await Promise.all(spooled)).map((r) => [r.status, r.text])).toEqual([
      [200, 'spooled'],
      [200, 'spooled'],
    ]);
    expect(admission.spoolingInHand).toBe(0);
    expect(admission.inHand.answer).toBe(2);
    // Recorded: the bound is free again.
    recording.open();
    await new Promise<void>((resolve) => {
      const check = () => (admission.inHand.answer === 0 ? resolve() : setImmediate(check));
      check();
    });
    expect((await post('/webhooks/twilio/voice/c/gather')).text).toBe('recorded');
  });

  it('says answers are pressing while more are in hand than pressureAt, and only then', async () => {
    recording = gate();
    spooling = gate();
    pressing.length = 0;
    // One answer in hand (acknowledged, its recording held): not more than pressureAt.
    expect((await post('/webhooks/twilio/voice/a/gather')).text).toBe('acknowledged');
    expect(admission.inHand.answer).toBe(1);
    expect(pressing).toEqual([]);
    // A second: pressing, said on its arrival.
    expect((await post('/webhooks/twilio/sms')).text).toBe('acknowledged');
    expect(pressing).toEqual([2]);
    // Past the bound, kept in the spool: still pressing.
    const spooled = post('/webhooks/twilio/voice/b/gather');
    await new Promise<void>((resolve) => {
      const check = () => (admission.spoolingInHand === 1 ? resolve() : setImmediate(check));
      check();
    });
    expect(pressing).toEqual([2, 2]);
    spooling.open();
    expect((await spooled).text).toBe('spooled');
    // Recorded: one end leaves one in hand, the other none; neither is pressing.
    recording.open();
    await new Promise<void>((resolve) => {
      const check = () => (admission.inHand.answer === 0 ? resolve() : setImmediate(check));
      check();
    });
    expect(pressing).toEqual([2, 2]);
    // Callbacks never press.
    held = gate();
    held.open();
    expect((await post('/webhooks/twilio/sms/status')).status).toBe(204);
    expect(pressing).toEqual([2, 2]);
  });
});
