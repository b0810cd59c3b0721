import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * TwiML as the sandbox executes it: the verbs of a `<Response>` in document order, with their
 * attributes, nested verbs and text, plus how long each takes to play.
 */
export interface TwimlNode {
  name: string;
  attrs: Record<string, string>;
  children: TwimlNode[];
  /** Text content, with nested markup (SSML in a <Say>) flattened. */
  text: string;
}

/** Twilio's document errors: 12100 (not parseable), 12200 (not a TwiML <Response>). */
export class TwimlError extends Error {
  constructor(
    readonly code: 11200 | 12100 | 12200,
    message: string,
  ) {
    super(message);
    this.name = 'TwimlError';
  }
}

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
});

function toNode(raw: OrderedNode): TwimlNode | null {
  const name = Object.keys(raw).find((k) => k !== ':@');
  if (!name || name.startsWith('?') || name === '#comment') return null;
  if (name === '#text') return { name, attrs: {}, children: [], text: String(raw[name]) };
  const rawChildren = (raw[name] as OrderedNode[] | undefined) ?? [];
  const children = rawChildren.map(toNode).filter((n): n is TwimlNode => n !== null);
  const text = children
    .map((c) => c.text)
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return {
    name,
    attrs: { ...(raw[':@'] ?? {}) },
    children: children.filter((c) => c.name !== '#text'),
    text,
  };
}

/** Parses a TwiML document; returns its root (`<Response>`). */
export function parseTwiml(xml: string): TwimlNode {
  const trimmed = xml.trim();
  if (!trimmed) throw new TwimlError(12100, 'Document parse failure: empty document');
  const valid = XMLValidator.validate(trimmed);
  if (valid !== true) throw new TwimlError(12100, `Document parse failure: ${valid.err.msg}`);
  const roots = (parser.parse(trimmed) as OrderedNode[])
    .map(toNode)
    .filter((n): n is TwimlNode => n !== null);
  const root = roots.find((n) => n.name !== '#text');
  if (!root || root.name !== 'Response') {
    throw new TwimlError(
      12200,
      `Schema validation warning: root element is <${root?.name ?? '?'}>, not <Response>`,
    );
  }
  return root;
}

/** Simulated speaking time of a TTS text: about 4 Chinese characters a second. */
export function speechMs(text: string): number {
  let ms = 0;
  for (const ch of text) {
    if (/\s/.test(ch)) ms += 40;
    else if (/[\u3400-\u9fff\uf900-\ufaff]/.test(ch)) ms += 250;
    else if (/[\u3000-\u303f\uff00-\uffef]/.test(ch))
      ms += 150; // CJK punctuation: a short pause
    else ms += 70;
  }
  return Math.max(300, ms);
}

/** Twilio's `loop`: 0 means "until the call ends"; the sandbox caps it. */
export function loopCount(attrs: Record<string, string>): number {
  const n = Number.parseInt(attrs.loop ?? '1', 10);
  if (!Number.isFinite(n) || n < 0) return 1;
  return n === 0 ? 20 : Math.min(n, 20);
}

/** How long a playable verb (<Say>, <Play>, <Pause>) takes, in simulated ms. */
export function playMs(node: TwimlNode): number {
  switch (node.name) {
    case 'Say':
      return speechMs(node.text) * loopCount(node.attrs);
    case 'Play':
      // The sandbox does not fetch audio: a clip is taken to last 3 s, DTMF tones 0.5 s each.
      return node.attrs.digits ? node.attrs.digits.length * 500 : 3_000 * loopCount(node.attrs);
    case 'Pause': {
      const seconds = Number.parseFloat(node.attrs.length ?? '1');
      return (Number.isFinite(seconds) && seconds >= 0 ? seconds : 1) * 1000;
    }
    default:
      return 0;
  }
}

/** Bodies of the `<Message>` verbs of a messaging TwiML response (auto-replies). */
export function messageBodies(root: TwimlNode): string[] {
  return root.children
    .filter((n) => n.name === 'Message')
    .map((n) => (n.children.find((c) => c.name === 'Body')?.text ?? n.text).trim());
}
