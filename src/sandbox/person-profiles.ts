import { intFrom, unitFrom, weightedPick } from './seeded-random';

/**
 * How the simulated person behind a phone number behaves. Chosen deterministically from the
 * number and the seed (so a demo run is reproducible), or set per number by a test.
 *
 * All durations are simulated milliseconds (the carrier multiplies them by its timeScale).
 */
export type PersonKind =
  /** Answers, presses 1 (or replies 1 / 收到 to an SMS that asks for it). */
  | 'confirms'
  /** Answers, presses 2: needs help (replies 2 by SMS). */
  | 'needs-help'
  /** Phone rings out: no-answer. SMS delivered, never replied to. */
  | 'no-answer'
  /** Line busy. Reads the SMS later and replies 1. */
  | 'busy'
  /** Number does not exist: SMS undelivered (30005), call fails. */
  | 'dead'
  /** Phone switched off or out of coverage: SMS undelivered (30003), call not answered. */
  | 'unreachable'
  /** Answers and hangs up before the message ends. */
  | 'hangs-up-early'
  /** Answers, listens to the whole message, presses nothing. */
  | 'silent';

export const PERSON_KINDS: readonly PersonKind[] = [
  'confirms',
  'needs-help',
  'no-answer',
  'busy',
  'dead',
  'unreachable',
  'hangs-up-early',
  'silent',
];

export interface SmsBehaviour {
  /** What the carrier reports for an SMS to this number. */
  outcome: 'delivered' | 'undelivered' | 'failed';
  /** Twilio error code on undelivered/failed: 30003 unreachable handset, 30005 unknown handset. */
  errorCode?: number;
  /** From `sent` to the final status. */
  deliverAfterMs: number;
  /** What the person answers to an SMS asking for a reply (回复1…), or null for no reply. */
  reply: string | null;
  /** From delivery to the reply. */
  replyAfterMs: number;
}

export interface VoiceBehaviour {
  /** What happens when the phone rings. */
  outcome: 'answers' | 'no-answer' | 'busy' | 'failed';
  /** Ringing time before answering (answers) or before the busy signal (busy). */
  ringMs: number;
  /** Digits pressed in a <Gather>, or null to press nothing. */
  key: string | null;
  /**
   * When the key is pressed, counted from the start of the <Gather> (while its prompt is still
   * playing if shorter than the prompt: that counts, as on Twilio).
   */
  keyAfterMs: number;
  /** Hangs up this long after answering (whatever is playing), or null to stay until the end. */
  hangUpAfterMs: number | null;
}

export interface PersonProfile {
  kind: PersonKind | 'custom';
  sms: SmsBehaviour;
  voice: VoiceBehaviour;
}

export type ProfileOverrides = {
  kind?: PersonProfile['kind'];
  sms?: Partial<SmsBehaviour>;
  voice?: Partial<VoiceBehaviour>;
};

/** Share of each kind among numbers without an explicit profile. */
export const DEFAULT_KIND_WEIGHTS: Record<PersonKind, number> = {
  confirms: 0.55,
  'needs-help': 0.05,
  'no-answer': 0.1,
  busy: 0.06,
  dead: 0.04,
  unreachable: 0.06,
  'hangs-up-early': 0.08,
  silent: 0.06,
};

const DELIVERED: SmsBehaviour = {
  outcome: 'delivered',
  deliverAfterMs: 2_000,
  reply: null,
  replyAfterMs: 30_000,
};

const NO_CALL: VoiceBehaviour = {
  outcome: 'answers',
  ringMs: 6_000,
  key: null,
  keyAfterMs: 0,
  hangUpAfterMs: null,
};

/** Fixed, representative behaviour for each kind (what tests usually want). */
const PRESETS: Record<PersonKind, PersonProfile> = {
  confirms: {
    kind: 'confirms',
    sms: { ...DELIVERED, reply: '1', replyAfterMs: 20_000 },
    voice: { ...NO_CALL, key: '1', keyAfterMs: 4_000 },
  },
  'needs-help': {
    kind: 'needs-help',
    sms: { ...DELIVERED, reply: '2', replyAfterMs: 20_000 },
    voice: { ...NO_CALL, key: '2', keyAfterMs: 4_000 },
  },
  'no-answer': {
    kind: 'no-answer',
    sms: { ...DELIVERED },
    voice: { ...NO_CALL, outcome: 'no-answer' },
  },
  busy: {
    kind: 'busy',
    sms: { ...DELIVERED, reply: '1', replyAfterMs: 180_000 },
    voice: { ...NO_CALL, outcome: 'busy', ringMs: 2_000 },
  },
  dead: {
    kind: 'dead',
    sms: { ...DELIVERED, outcome: 'undelivered', errorCode: 30005, deliverAfterMs: 3_000 },
    voice: { ...NO_CALL, outcome: 'failed' },
  },
  unreachable: {
    kind: 'unreachable',
    sms: { ...DELIVERED, outcome: 'undelivered', errorCode: 30003, deliverAfterMs: 10_000 },
    voice: { ...NO_CALL, outcome: 'no-answer' },
  },
  'hangs-up-early': {
    kind: 'hangs-up-early',
    sms: { ...DELIVERED },
    voice: { ...NO_CALL, hangUpAfterMs: 3_000 },
  },
  silent: {
    kind: 'silent',
    sms: { ...DELIVERED },
    voice: { ...NO_CALL },
  },
};

/** The preset for a kind, with optional overrides (e.g. a faster keypress). */
export function presetProfile(kind: PersonKind, overrides: ProfileOverrides = {}): PersonProfile {
  const base = PRESETS[kind];
  if (!base) throw new Error(`unknown person kind: ${kind}`);
  return {
    kind: overrides.kind ?? kind,
    sms: { ...base.sms, ...overrides.sms },
    voice: { ...base.voice, ...overrides.voice },
  };
}

/**
 * The person behind `e164` for `seed`: the kind by weight, then timings drawn within realistic
 * ranges, all from hashes of (seed, number), so the same inputs always give the same person.
 */
export function profileFor(
  e164: string,
  seed: number,
  weights: Record<PersonKind, number> = DEFAULT_KIND_WEIGHTS,
): PersonProfile {
  const kind = weightedPick(unitFrom(seed, e164, 'kind'), weights);
  const n = (min: number, max: number, what: string) => intFrom(seed, min, max, e164, what);
  const profile = presetProfile(kind);
  profile.sms.deliverAfterMs = n(1_000, 8_000, 'deliver');
  profile.sms.replyAfterMs =
    kind === 'busy' ? n(60_000, 300_000, 'reply') : n(10_000, 90_000, 'reply');
  if (kind === 'confirms')
    profile.sms.reply = unitFrom(seed, e164, 'reply-text') < 0.6 ? '1' : '收到';
  profile.voice.ringMs = kind === 'busy' ? n(500, 3_000, 'ring') : n(3_000, 20_000, 'ring');
  // About half press while the prompt still plays, the rest in the seconds after it.
  profile.voice.keyAfterMs = n(2_000, 25_000, 'key');
  if (kind === 'hangs-up-early') profile.voice.hangUpAfterMs = n(1_500, 6_000, 'hangup');
  return profile;
}

/** Profiles by number: explicit ones set by tests or the demo, else derived from the seed. */
export class PersonDirectory {
  private readonly explicit = new Map<string, PersonProfile>();

  constructor(private readonly seed: number) {}

  set(e164: string, profile: PersonProfile | PersonKind): void {
    this.explicit.set(
      e164,
      typeof profile === 'string' ? presetProfile(profile) : structuredClone(profile),
    );
  }

  clear(e164?: string): void {
    if (e164 === undefined) this.explicit.clear();
    else this.explicit.delete(e164);
  }

  get(e164: string): PersonProfile {
    return structuredClone(this.explicit.get(e164) ?? profileFor(e164, this.seed));
  }
}
