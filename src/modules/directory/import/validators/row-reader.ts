import type { ImportProblem, SourceRow } from '../import.types';

/** The problems found in one file, in the order found. */
export class Problems {
  readonly list: ImportProblem[] = [];

  add(row: number | undefined, field: string, message: string, messageEn: string): void {
    this.list.push(
      row === undefined ? { field, message, messageEn } : { row, field, message, messageEn },
    );
  }
}

export interface TextRule {
  required?: boolean;
  max?: number;
}

export interface PatternRule extends TextRule {
  pattern: RegExp;
  /** What the value should look like, e.g. "12 位数字" / "12 digits". */
  zh: string;
  en: string;
}

/** Lists in a cell (grids, threatened, responsible, several mobiles) are `;`-separated. */
export const LIST_SEPARATOR = /[;；]/;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Reads the fields of one row, recording a problem for each bad one. Failed reads return
 * '' / null / 0 / []: the file is rejected anyway, so those placeholders are never written.
 */
export class RowReader {
  constructor(
    private readonly source: SourceRow,
    private readonly problems: Problems,
  ) {}

  get row(): number {
    return this.source.row;
  }

  problem(field: string, message: string, messageEn: string): void {
    this.problems.add(this.source.row, field, message, messageEn);
  }

  /** The trimmed value, or null when empty or absent. */
  raw(field: string): string | null {
    const value = this.source.values[field];
    if (value === undefined || value === null) return null;
    if (typeof value === 'number') {
      if (Number.isFinite(value)) return String(value);
    } else if (typeof value === 'string') {
      const trimmed = value.trim();
      return trimmed === '' ? null : trimmed;
    }
    this.problem(field, '应为文本或数字', 'must be text or a number');
    return null;
  }

  text(field: string, rule: TextRule & { required: true }): string;
  text(field: string, rule?: TextRule): string | null;
  text(field: string, rule: TextRule = {}): string | null {
    const value = this.raw(field);
    if (value === null) {
      if (rule.required) this.problem(field, '必填', 'required');
      return rule.required ? '' : null;
    }
    const max = rule.max ?? 200;
    if ([...value].length > max) {
      this.problem(field, `不能超过 ${max} 个字符`, `at most ${max} characters`);
    }
    return value;
  }

  matching(field: string, rule: PatternRule & { required: true }): string;
  matching(field: string, rule: PatternRule): string | null;
  matching(field: string, rule: PatternRule): string | null {
    const value = this.text(field, rule);
    if (value && !rule.pattern.test(value)) {
      this.problem(field, `格式不对（应为${rule.zh}）：${value}`, `expected ${rule.en}: ${value}`);
    }
    return value;
  }

  /** One of `allowed`, or a Chinese alias of one; returns the canonical value. */
  oneOf<T extends string>(
    field: string,
    allowed: readonly T[],
    aliases: Partial<Record<string, T>> = {},
  ): T | '' {
    const value = this.text(field, { required: true });
    if (!value) return '';
    const canonical = (allowed as readonly string[]).includes(value.toLowerCase())
      ? (value.toLowerCase() as T)
      : aliases[value];
    if (canonical === undefined) {
      this.problem(
        field,
        `不是可用的值：${value}（可用：${allowed.join(', ')}）`,
        `unknown value ${value} (allowed: ${allowed.join(', ')})`,
      );
      return '';
    }
    return canonical;
  }

  integer(field: string, min = 0, max = 100_000_000): number | null {
    const value = this.raw(field);
    if (value === null) return null;
    const n = Number(value);
    if (!/^-?\d+$/.test(value) || n < min || n > max) {
      this.problem(
        field,
        `应为 ${min} 到 ${max} 之间的整数：${value}`,
        `expected a whole number from ${min} to ${max}: ${value}`,
      );
      return null;
    }
    return n;
  }

  decimal(field: string, min: number, max: number): number | null {
    const value = this.raw(field);
    if (value === null) return null;
    const n = Number(value);
    if (!/^-?\d+(\.\d+)?$/.test(value) || n < min || n > max) {
      this.problem(
        field,
        `应为 ${min} 到 ${max} 之间的数：${value}`,
        `expected a number from ${min} to ${max}: ${value}`,
      );
      return null;
    }
    return n;
  }

  /** A calendar date written YYYY-MM-DD, not in the future. */
  date(field: string): string | null {
    const value = this.raw(field);
    if (value === null) return null;
    const m = DATE.exec(value);
    const date = m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3])) : undefined;
    if (!m || !date || date.getUTCMonth() !== +m[2] - 1 || date.getUTCDate() !== +m[3]) {
      this.problem(
        field,
        `日期应写成 YYYY-MM-DD：${value}`,
        `expected a date as YYYY-MM-DD: ${value}`,
      );
      return null;
    }
    if (date.getTime() > Date.now() + 86_400_000) {
      this.problem(field, `日期不能晚于今天：${value}`, `date is in the future: ${value}`);
      return null;
    }
    return value;
  }

  /** `;`-separated values, trimmed, without blanks or repeats, in the order given. */
  list(field: string): string[] {
    const value = this.raw(field);
    if (value === null) return [];
    return [
      ...new Set(
        value
          .split(LIST_SEPARATOR)
          .map((v) => v.trim())
          .filter((v) => v !== ''),
      ),
    ];
  }
}

/** Reports each key seen twice in the file, naming the row that had it first. */
export class DuplicateKeys {
  private readonly first = new Map<string, number>();

  constructor(private readonly field: string) {}

  check(reader: RowReader, key: string | null | undefined, label = key): void {
    if (!key) return;
    const earlier = this.first.get(key);
    if (earlier === undefined) {
      this.first.set(key, reader.row);
      return;
    }
    reader.problem(
      this.field,
      `与第 ${earlier} 行重复：${label}`,
      `duplicate of row ${earlier}: ${label}`,
    );
  }

  has(key: string): boolean {
    return this.first.has(key);
  }

  rowOf(key: string): number | undefined {
    return this.first.get(key);
  }
}

/** A list for a message, shortened: `a; b; c … (+97)`. */
export function sample(items: readonly string[], max = 10): string {
  const head = items.slice(0, max).join('; ');
  return items.length > max ? `${head} … (+${items.length - max})` : head;
}
