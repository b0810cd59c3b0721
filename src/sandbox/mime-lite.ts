/**
 * Just enough MIME to read what the gateway e-mails: unfolded headers with RFC 2047 encoded
 * words decoded (Chinese subjects), and the text/plain and text/html bodies of a single-part
 * or multipart message, with base64 / quoted-printable and the charset undone.
 */
export interface ParsedMail {
  /** Lower-cased header names; a repeated header keeps its first value. */
  headers: Record<string, string>;
  text?: string;
  html?: string;
}

function decodeCharset(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

function decodeQuotedPrintable(input: string): Buffer {
  const soft = input.replace(/=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const ch = soft[i];
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(soft.charCodeAt(i) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 2047: `=?UTF-8?B?5Zyw6LSo?=` and `=?UTF-8?Q?=E5=9C=B0?=`; adjacent words join without space. */
export function decodeEncodedWords(value: string): string {
  const word = /=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g;
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(word, (_, charset: string, enc: string, data: string) => {
      const bytes =
        enc.toUpperCase() === 'B'
          ? Buffer.from(data, 'base64')
          : decodeQuotedPrintable(data.replace(/_/g, ' '));
      return decodeCharset(bytes, charset);
    });
}

/** `text/plain; charset="utf-8"` → { value: 'text/plain', params: { charset: 'utf-8' } } */
export function parseHeaderParams(value: string): {
  value: string;
  params: Record<string, string>;
} {
  const [first, ...rest] = value.split(';');
  const params: Record<string, string> = {};
  for (const part of rest) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    params[key] = part
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1');
  }
  return { value: first.trim().toLowerCase(), params };
}

/** Splits a part (as a latin1 string, one char per byte) into headers and body. */
function splitPart(part: string): { headers: Record<string, string>; body: string } {
  const match = /\r?\n\r?\n/.exec(part);
  const head = match ? part.slice(0, match.index) : part;
  const body = match ? part.slice(match.index + match[0].length) : '';
  const headers: Record<string, string> = {};
  const unfolded = Buffer.from(head, 'latin1')
    .toString('utf8')
    .replace(/\r?\n[ \t]+/g, ' ');
  for (const line of unfolded.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!(name in headers)) headers[name] = decodeEncodedWords(line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeBody(body: string, headers: Record<string, string>): string {
  const encoding = (headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  const charset =
    parseHeaderParams(headers['content-type'] ?? 'text/plain').params.charset ?? 'utf-8';
  const bytes =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? decodeQuotedPrintable(body)
        : Buffer.from(body, 'latin1');
  return decodeCharset(bytes, charset);
}

/** SMTP carries CRLF line ends; the text as written had LF. */
function normalizeNewlines(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(/\n$/, '');
}

function walk(part: string, out: ParsedMail, depth: number): Record<string, string> {
  const { headers, body } = splitPart(part);
  const type = parseHeaderParams(headers['content-type'] ?? 'text/plain');
  const attachment = (headers['content-disposition'] ?? '').toLowerCase().startsWith('attachment');
  if (type.value.startsWith('multipart/') && type.params.boundary && depth < 10) {
    const delimiter = `--${type.params.boundary}`;
    const sections = body.split(delimiter).slice(1);
    for (const section of sections) {
      if (section.startsWith('--')) break;
      walk(section.replace(/^\r?\n/, ''), out, depth + 1);
    }
  } else if (!attachment && type.value === 'text/plain' && out.text === undefined) {
    out.text = normalizeNewlines(decodeBody(body, headers));
  } else if (!attachment && type.value === 'text/html' && out.html === undefined) {
    out.html = normalizeNewlines(decodeBody(body, headers));
  }
  return headers;
}

export function parseMail(raw: Buffer): ParsedMail {
  const out: ParsedMail = { headers: {} };
  out.headers = walk(raw.toString('latin1'), out, 0);
  return out;
}
