/** 32-bit FNV-1a over the parts, joined by NUL: a stable seed for each thing generated. */
export function hashParts(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  const text = parts.map(String).join('\u0000');
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A small deterministic generator (sfc32). The same parts always give the same sequence, so a
 * village or a grid is generated the same way however the county is chunked or streamed.
 */
export class SeededRandom {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...parts: Array<string | number>) {
    this.a = hashParts('a', ...parts);
    this.b = hashParts('b', ...parts);
    this.c = hashParts('c', ...parts);
    this.d = hashParts('d', ...parts) | 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  /** A key of `weights`, with probability proportional to its weight. */
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as Array<[K, number]>;
    const total = entries.reduce((sum, [, w]) => sum + w, 0);
    let u = this.next() * total;
    for (const [key, w] of entries) {
      u -= w;
      if (u < 0) return key;
    }
    return entries[entries.length - 1][0];
  }

  /** `length` characters from `alphabet`. */
  chars(length: number, alphabet = '0123456789abcdef'): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet[Math.floor(this.next() * alphabet.length)];
    return out;
  }

  uuid(): string {
    const h = this.chars(32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
  }

  /** Splits `total` into `parts` integers of at least `min`, varying ±40% around the mean. */
  split(total: number, parts: number, min = 0): number[] {
    const spare = Math.max(0, total - parts * min);
    const weights = Array.from({ length: parts }, () => 0.6 + 0.8 * this.next());
    const sum = weights.reduce((a, b) => a + b, 0);
    const exact = weights.map((w) => (w / sum) * spare);
    const out = exact.map((x) => min + Math.floor(x));
    let left = total - out.reduce((a, b) => a + b, 0);
    const byRemainder = exact
      .map((x, i) => [x - Math.floor(x), i] as const)
      .sort((p, q) => q[0] - p[0] || p[1] - q[1]);
    for (let k = 0; left > 0 && parts > 0; k = (k + 1) % parts, left--) out[byRemainder[k][1]]++;
    return out;
  }
}
