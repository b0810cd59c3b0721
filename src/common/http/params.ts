import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { AppException } from '../errors/app.exception';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A route parameter that is a database id: anything but a UUID is a 400 naming the parameter
 * (Postgres would fail the query on it), e.g. `@Param('id', UuidPipe) id: string`.
 */
@Injectable()
export class UuidPipe implements PipeTransform<unknown, string> {
  transform(value: unknown, metadata: ArgumentMetadata): string {
    if (typeof value === 'string' && UUID.test(value)) return value;
    throw AppException.validation([
      { field: metadata.data ?? 'id', message: 'must be a UUID (e.g. 0b5e…-…)' },
    ]);
  }
}

/** The largest `offset` any list accepts (Postgres OFFSET is a bigint; this keeps it an int). */
export const MAX_OFFSET = 2_147_483_647;

/**
 * An optional integer query parameter within bounds: absent or empty → `default`; anything else
 * that is not an integer in [min, max] is a 400 naming the parameter (never clamped, never a 500).
 */
export class IntQueryPipe implements PipeTransform<unknown, number> {
  constructor(private readonly opts: { default: number; min: number; max: number }) {}

  transform(value: unknown, metadata: ArgumentMetadata): number {
    if (value === undefined || value === '') return this.opts.default;
    // The global ValidationPipe may already have made a number of it (`transform: true`).
    const n =
      typeof value === 'number'
        ? value
        : typeof value === 'string' && /^-?\d{1,16}$/.test(value)
          ? Number(value)
          : NaN;
    if (!Number.isSafeInteger(n) || n < this.opts.min || n > this.opts.max) {
      throw AppException.validation([
        {
          field: metadata.data ?? 'query',
          message: `must be an integer from ${this.opts.min} to ${this.opts.max}`,
        },
      ]);
    }
    return n;
  }
}

/** `limit` of a list: 1…max, default `def`. */
export const limitPipe = (def: number, max: number) =>
  new IntQueryPipe({ default: def, min: 1, max });
/** `offset` of a list: 0…MAX_OFFSET, default 0. */
export const offsetPipe = () => new IntQueryPipe({ default: 0, min: 0, max: MAX_OFFSET });
