import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { AppException, type FieldProblem } from '../errors/app.exception';

/** Deeper than any body the API takes (a policy is 3 levels deep): refused before anything walks it. */
export const MAX_INPUT_DEPTH = 32;

declare global {
  interface String {
    /** ES2024 (Node ≥ 20): false when the string holds a lone surrogate. */
    isWellFormed(): boolean;
  }
}

/** Why a string cannot be stored (Postgres refuses NUL bytes and text that is not UTF-8). */
export function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain NUL (\\u0000) characters';
  if (!s.isWellFormed()) return 'must be valid Unicode (no lone surrogate such as \\ud800)';
  return undefined;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/**
 * The first value of a request input that the gateway cannot take, walked without recursion: a
 * string (or a key) with NUL or a lone surrogate, or nesting deeper than MAX_INPUT_DEPTH.
 * `root` names the input itself (a route parameter, `body` for a text body).
 */
export function findInputProblem(value: unknown, root: string): FieldProblem | undefined {
  const stack: { value: unknown; path: string; depth: number }[] = [{ value, path: '', depth: 0 }];
  while (stack.length) {
    const { value: v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return { field: path || root, message: problem };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (Buffer.isBuffer(v)) continue;
    if (depth >= MAX_INPUT_DEPTH) {
      return {
        field: path || root,
        message: `must not be nested more than ${MAX_INPUT_DEPTH} levels deep`,
      };
    }
    for (const [key, child] of Object.entries(v)) {
      const keyProblem = textProblem(key);
      const childPath = join(path, key);
      if (keyProblem) return { field: childPath, message: `field name ${keyProblem}` };
      stack.push({ value: child, path: childPath, depth: depth + 1 });
    }
  }
  return undefined;
}

/**
 * Global pipe, before validation: every body, query string and route parameter of every route is
 * refused with a 400 naming the field when it holds text Postgres would refuse (NUL, lone
 * surrogates) or is nested absurdly deep — so that it can neither fail a query (500) nor
 * overflow the stack of the DTO transformer.
 */
@Injectable()
export class SafeInputPipe implements PipeTransform {
  transform(value: unknown, metadata: ArgumentMetadata): unknown {
    if (metadata.type === 'custom') return value;
    const root = metadata.data ?? (metadata.type === 'param' ? 'path' : metadata.type);
    const problem = findInputProblem(value, root);
    if (problem) {
      const field =
        metadata.data && problem.field !== root
          ? `${metadata.data}.${problem.field}`
          : problem.field;
      throw AppException.validation([{ ...problem, field }]);
    }
    return value;
  }
}
