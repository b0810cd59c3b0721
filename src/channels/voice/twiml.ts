import twilio from 'twilio';
import type VoiceResponse from 'twilio/lib/twiml/VoiceResponse';
import type { Locale, VoiceScripts } from '../../templates/types';

/**
 * TwiML of the warning call, built with the SDK's VoiceResponse.
 *
 * The call is a sequence of rounds, each one `<Gather input="dtmf" numDigits="1">` wrapping the
 * `<Say>` of the script, so a key pressed while the message still plays counts (barge-in):
 *
 *   round 1  script                       → Gather action …/gather?round=1
 *   round 2  reprompt + script (repeat)   → Gather action …/gather?round=2
 *   then     hang up
 *
 * Every Gather has `actionOnEmptyResult="true"`: Twilio posts to the gather URL even when no key
 * was pressed. That is how the gateway learns the callee *heard* the whole message (empty Digits
 * arrive only after the complete `<Say>` and the key timeout), and it answers with the next
 * round's TwiML (gatherReplyTwiml). Key 1 → thanks and hang up; key 2 → help acknowledged and hang
 * up; any other key → the reprompt round.
 */
export type CallLanguage = 'zh-CN' | 'en-US';

/** The TTS texts a call needs (src/templates voice). */
export type WarningCallScripts = Pick<
  VoiceScripts,
  'script' | 'reprompt' | 'thanks' | 'helpAcknowledged'
>;

export interface WarningCallTwimlOptions {
  scripts: WarningCallScripts;
  /** Default zh-CN. */
  language?: CallLanguage;
  /** Absolute, public URL of POST /webhooks/twilio/voice/:attemptId/gather. */
  gatherUrl: string;
  /** Seconds to wait for a key after the prompt has finished (default 8). */
  keyTimeoutSec?: number;
  /** Rounds in all: 2 = the script, then the reprompt and one repeat (default 2). */
  rounds?: number;
  /** A TTS voice, e.g. 'Polly.Zhiyu'; Twilio's default for the language when unset. */
  voice?: string;
}

export const CONFIRM_KEY = '1';
export const HELP_KEY = '2';
const DEFAULT_KEY_TIMEOUT_SEC = 8;
const DEFAULT_ROUNDS = 2;

export function callLanguageFor(locale: Locale): CallLanguage {
  return locale === 'en' ? 'en-US' : 'zh-CN';
}

/** `…/gather` → `…/gather?round=2` (an existing query is kept). */
export function gatherActionUrl(gatherUrl: string, round: number): string {
  const url = new URL(gatherUrl);
  url.searchParams.set('round', String(round));
  return url.toString();
}

/** The round a gather request answers, from its URL (`?round=`); 1 when absent or invalid. */
export function gatherRoundOf(url: string): number {
  let value: string | null;
  try {
    value = new URL(url, 'http://localhost').searchParams.get('round');
  } catch {
    value = null;
  }
  const round = Number.parseInt(value ?? '', 10);
  return Number.isInteger(round) && round >= 1 ? round : 1;
}

function sayAttrs(opts: WarningCallTwimlOptions): VoiceResponse.SayAttributes {
  return {
    language: opts.language ?? 'zh-CN',
    ...(opts.voice ? { voice: opts.voice as VoiceResponse.SayAttributes['voice'] } : {}),
  };
}

/** A round: Gather wrapping the prompt (round ≥ 2: the reprompt, then the script again). */
function roundTwiml(opts: WarningCallTwimlOptions, round: number): string {
  const response = new twilio.twiml.VoiceResponse();
  const gather = response.gather({
    input: ['dtmf'],
    numDigits: 1,
    action: gatherActionUrl(opts.gatherUrl, round),
    method: 'POST',
    timeout: opts.keyTimeoutSec ?? DEFAULT_KEY_TIMEOUT_SEC,
    actionOnEmptyResult: true,
  });
  if (round > 1) gather.say(sayAttrs(opts), opts.scripts.reprompt);
  gather.say(sayAttrs(opts), opts.scripts.script);
  return response.toString();
}

/** The TwiML Twilio fetches when the callee answers (POST …/twiml): round 1. */
export function warningCallTwiml(opts: WarningCallTwimlOptions): string {
  return roundTwiml(opts, 1);
}

/** Plays one text, then hangs up. */
export function sayAndHangUpTwiml(text: string, language: CallLanguage = 'zh-CN'): string {
  const response = new twilio.twiml.VoiceResponse();
  if (text) response.say({ language }, text);
  response.hangup();
  return response.toString();
}

export type GatherOutcome =
  /** Key 1: the callee confirmed receipt. */
  | 'confirmed'
  /** Key 2: the callee asks for help. */
  | 'help_requested'
  /** The whole prompt played and no key came. */
  | 'no_key'
  /** A key other than 1 or 2. */
  | 'other_key';

export interface GatherReply {
  outcome: GatherOutcome;
  /** The whole message was played in this round (no key before its end). */
  heard: boolean;
  /** This reply ends the call (no further gather will come). */
  final: boolean;
  /** The TwiML to answer the gather request with. */
  twiml: string;
}

export function gatherOutcome(digits: string): GatherOutcome {
  const key = digits.trim();
  if (key === CONFIRM_KEY) return 'confirmed';
  if (key === HELP_KEY) return 'help_requested';
  if (key === '') return 'no_key';
  return 'other_key';
}

/**
 * What to answer Twilio's gather request (POST …/gather?round=N, with `Digits`): thanks or help
 * acknowledged and hang up, or the next round (reprompt + repeat), or hang up after the last one.
 */
export function gatherReplyTwiml(
  opts: WarningCallTwimlOptions & { digits: string; round: number },
): GatherReply {
  const outcome = gatherOutcome(opts.digits);
  const language = opts.language ?? 'zh-CN';
  const rounds = opts.rounds ?? DEFAULT_ROUNDS;
  switch (outcome) {
    case 'confirmed':
      return {
        outcome,
        heard: false,
        final: true,
        twiml: sayAndHangUpTwiml(opts.scripts.thanks, language),
      };
    case 'help_requested':
      return {
        outcome,
        heard: false,
        final: true,
        twiml: sayAndHangUpTwiml(opts.scripts.helpAcknowledged, language),
      };
    case 'no_key':
    case 'other_key': {
      const heard = outcome === 'no_key';
      if (opts.round >= rounds)
        return { outcome, heard, final: true, twiml: sayAndHangUpTwiml('', language) };
      return { outcome, heard, final: false, twiml: roundTwiml(opts, opts.round + 1) };
    }
  }
}
