import type { PatternRule } from './row-reader';

type RequiredPattern = PatternRule & { required: true };

/** Codes of sites, robots and loudspeakers: letters, digits, `_ . -`, up to 64 characters. */
export const CODE: RequiredPattern = {
  required: true,
  max: 64,
  pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
  zh: '字母、数字或 _ . -，最多 64 个字符',
  en: 'letters, digits or _ . -, up to 64 characters',
};

/** Division codes: 2, 4, 6 (GB/T 2260), 9 or 12 digits (statistical division codes). */
export const DIVISION_CODE: RequiredPattern = {
  required: true,
  max: 12,
  pattern: /^(\d{2}|\d{4}|\d{6}|\d{9}|\d{12})$/,
  zh: '2、4、6、9 或 12 位数字',
  en: '2, 4, 6, 9 or 12 digits',
};

/** A grid code is its village's 12-digit code followed by the grid's own part. */
export const GRID_CODE: RequiredPattern = {
  required: true,
  max: 32,
  pattern: /^\d{12}[0-9A-Za-z_-]{1,20}$/,
  zh: '村代码（12 位）加网格序号，最多 32 个字符',
  en: "the village's 12-digit code followed by the grid's number, up to 32 characters",
};

/** The roster's own person ids; no spaces or list separators. */
export const EXTERNAL_ID: RequiredPattern = {
  required: true,
  max: 64,
  pattern: /^[^\s;；,，]+$/,
  zh: '不含空格、逗号或分号的编号，最多 64 个字符',
  en: 'an id without spaces, commas or semicolons, up to 64 characters',
};
