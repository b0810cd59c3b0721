/** What a write did: rows created, and existing rows that changed. */
export interface WriteCounts {
  inserted: number;
  updated: number;
}

/** Tells inserted keys from changed ones when several statements touch the same rows. */
export class ChangeCounter {
  private readonly inserted = new Set<string>();
  private readonly changed = new Set<string>();

  rows(rows: Array<{ key: string; inserted: boolean }>): void {
    for (const row of rows) (row.inserted ? this.inserted : this.changed).add(row.key);
  }

  keys(keys: Iterable<string>): void {
    for (const key of keys) this.changed.add(key);
  }

  counts(): WriteCounts {
    let updated = 0;
    for (const key of this.changed) if (!this.inserted.has(key)) updated++;
    return { inserted: this.inserted.size, updated };
  }
}

export function tally(rows: Array<{ inserted: boolean }>, counts: WriteCounts): void {
  for (const row of rows) {
    if (row.inserted) counts.inserted++;
    else counts.updated++;
  }
}
