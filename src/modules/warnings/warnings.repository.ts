import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import type { TemplateContext } from '../../templates/types';
import type { PersonRole } from '../../common/domain/directory.types';
import type {
  NamedPlace,
  WarningContent,
  WarningKind,
  WarningStatus,
} from '../../common/domain/warning.types';

export interface WarningRow {
  id: string;
  kind: WarningKind;
  status: WarningStatus;
  state: 'active' | 'cancelled' | 'expired';
  currentVersion: number;
  issuerName: string;
  issuerDivision: string;
  source: 'api' | 'cap';
  recipients: number;
  fanoutDoneAt: Date | null;
  firstContactEta: Date | null;
  expiresAt: Date;
  createdAt: Date;
  cancelledAt: Date | null;
  expiredAt: Date | null;
}

/** What an update's texts compare with (see previousOf). */
export type PreviousContent = NonNullable<TemplateContext['previous']>;

export interface VersionRow {
  id: string;
  warningId: string;
  version: number;
  nationalId: string;
  msgType: WarningContent['msgType'];
  level: WarningContent['level'];
  audience: PersonRole[];
  areas: string[];
  hazardPoints: string[];
  riskZones: string[];
  content: WarningContent;
  sentAt: Date;
}

const WARNING_COLUMNS = `
  w.id, w.kind, w.status, w.state, w.current_version AS "currentVersion", w.issuer_name AS "issuerName",
  w.issuer_division AS "issuerDivision", w.source, w.recipients, w.fanout_done_at AS "fanoutDoneAt",
  w.first_contact_eta AS "firstContactEta", w.expires_at AS "expiresAt", w.created_at AS "createdAt",
  w.cancelled_at AS "cancelledAt", w.expired_at AS "expiredAt"`;

const VERSION_COLUMNS = `
  v.id, v.warning_id AS "warningId", v.version, v.national_id AS "nationalId", v.msg_type AS "msgType",
  v.level, v.audience, v.areas, v.hazard_points AS "hazardPoints", v.risk_zones AS "riskZones",
  v.content, v.sent_at AS "sentAt"`;

/** Dates come back from jsonb as strings: restore them. */
export function reviveContent(raw: WarningContent): WarningContent {
  const d = (v: unknown) => (v ? new Date(v as string) : undefined);
  return {
    ...raw,
    sentAt: d(raw.sentAt) as Date,
    effective: d(raw.effective) as Date,
    expires: d(raw.expires) as Date,
    onset: d(raw.onset),
  };
}

/** Versions kept in memory (oldest dropped first). */
const VERSION_CACHE_SIZE = 500;

/** Freezes an object and everything it holds (Dates keep their own slots; read-only use). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** SQL for warnings and their versions. */
@Injectable()
export class WarningsRepository {
  private readonly versionCache = new Map<string, VersionRow>();
  /** See sharedVersion. */
  private readonly sharedVersions = new Map<string, VersionRow>();

  constructor(@InjectDataSource() readonly db: DataSource) {}

  async findWarning(
    id: string,
    m: EntityManager = this.db.manager,
  ): Promise<WarningRow | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const [row] = await m.query(`SELECT ${WARNING_COLUMNS} FROM warnings w WHERE w.id = $1`, [id]);
    return row;
  }

  async lockWarning(m: EntityManager, id: string): Promise<WarningRow | undefined> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) return undefined;
    const [row] = await m.query(
      `SELECT ${WARNING_COLUMNS} FROM warnings w WHERE w.id = $1 FOR UPDATE`,
      [id],
    );
    return row;
  }

  /**
   * A version of a warning. Versions are never changed once written, so those read outside a
   * transaction are kept in memory (the senders read the same few versions once per person);
   * every caller gets its own copy.
   */
  async findVersion(
    warningId: string,
    version: number,
    m?: EntityManager,
  ): Promise<VersionRow | undefined> {
    const key = `${warningId}:${version}`;
    let row = m ? undefined : this.versionCache.get(key);
    if (!row) {
      [row] = await (m ?? this.db.manager).query(
        `SELECT ${VERSION_COLUMNS} FROM warning_versions v WHERE v.warning_id = $1 AND v.version = $2`,
        [warningId, version],
      );
      if (!row) return undefined;
      // Inside a transaction the row may still be rolled back: only committed reads are kept.
      if (!m) {
        if (this.versionCache.size >= VERSION_CACHE_SIZE)
          this.versionCache.delete(this.versionCache.keys().next().value as string);
        this.versionCache.set(key, row);
      }
    }
    // The content as stored (plain JSON), copied for each caller and its times revived.
    return { ...row, content: reviveContent(JSON.parse(JSON.stringify(row.content))) };
  }

  /**
   * The version as findVersion reads it, as one frozen object shared by every caller: for the
   * senders, which only read it. The renderer keeps what it rendered per version content object
   * (a resident's short SMS is one text for the whole version); findVersion's copy for each
   * caller made that a miss on every send, and each send rendered and copied the version anew.
   */
  async sharedVersion(warningId: string, version: number): Promise<VersionRow | undefined> {
    const key = `${warningId}:${version}`;
    const hit = this.sharedVersions.get(key);
    if (hit) return hit;
    const row = await this.findVersion(warningId, version);
    if (!row) return undefined;
    if (this.sharedVersions.size >= VERSION_CACHE_SIZE)
      this.sharedVersions.delete(this.sharedVersions.keys().next().value as string);
    this.sharedVersions.set(key, deepFreeze(row));
    return row;
  }

  /**
   * For an update: what the version before it said (level, areas, times), so that its texts say
   * what changed (预警等级由橙色提升为红色, areas added, times moved). Undefined for any other.
   */
  async previousOf(
    v: Pick<VersionRow, 'warningId' | 'version' | 'msgType'>,
  ): Promise<PreviousContent | undefined> {
    if (v.msgType !== 'update' || v.version < 2) return undefined;
    const before = await this.findVersion(v.warningId, v.version - 1);
    if (!before) return undefined;
    const c = before.content;
    return {
      level: c.level,
      areas: c.areas,
      effective: c.effective,
      onset: c.onset,
      expires: c.expires,
    };
  }

  async versions(warningId: string): Promise<VersionRow[]> {
    const rows = await this.db.query(
      `SELECT ${VERSION_COLUMNS} FROM warning_versions v WHERE v.warning_id = $1 ORDER BY v.version`,
      [warningId],
    );
    return rows.map((r: VersionRow) => ({ ...r, content: reviveContent(r.content) }));
  }

  /** Warning id for a national id of any of its versions (CAP references). */
  async findByNationalId(nationalId: string): Promise<string | undefined> {
    const [row] = await this.db.query(
      `SELECT warning_id AS id FROM warning_versions WHERE national_id = $1`,
      [nationalId],
    );
    return row?.id;
  }

  async list(opts: {
    jurisdiction?: string | null;
    limit: number;
    offset: number;
  }): Promise<(WarningRow & { nationalId: string; level: string; headline: string })[]> {
    return this.db.query(
      `SELECT ${WARNING_COLUMNS}, v.national_id AS "nationalId", v.level, v.content->>'headline' AS headline
         FROM warnings w JOIN warning_versions v ON v.warning_id = w.id AND v.version = w.current_version
        WHERE ($1::text IS NULL OR starts_with(w.issuer_division, $1))
        ORDER BY w.created_at DESC LIMIT $2 OFFSET $3`,
      [opts.jurisdiction ?? null, opts.limit, opts.offset],
    );
  }

  /** Names of the targeted places, in the order given (unknown codes keep their code as name). */
  async placeNames(areas: string[], hazardPoints: string[], riskZones: string[]) {
    const [divisions, sites] = await Promise.all([
      this.db.query<{ code: string; name: string }[]>(
        // An area is a division or a grid (网格).
        `SELECT code, name FROM divisions WHERE code = ANY($1)
         UNION ALL SELECT code, name FROM grids WHERE code = ANY($1)`,
        [areas],
      ),
      this.db.query<{ code: string; name: string }[]>(
        `SELECT code, name FROM hazard_sites WHERE code = ANY($1)`,
        [[...hazardPoints, ...riskZones]],
      ),
    ]);
    const names = new Map([...divisions, ...sites].map((r) => [r.code, r.name]));
    const named = (codes: string[]): NamedPlace[] =>
      codes.map((code) => ({ code, name: names.get(code) ?? code }));
    return { areas: named(areas), hazardPoints: named(hazardPoints), riskZones: named(riskZones) };
  }

  /** Division codes of the given hazard sites (for jurisdiction checks). */
  async siteDivisions(codes: string[]): Promise<string[]> {
    if (!codes.length) return [];
    const rows = await this.db.query<{ division_code: string }[]>(
      `SELECT division_code FROM hazard_sites WHERE code = ANY($1)`,
      [codes],
    );
    return rows.map((r) => r.division_code);
  }

  /** Sequence digit for a national id: how many ids already share its prefix and second. */
  async nextNationalSequence(m: EntityManager, prefixAndTime: string): Promise<number> {
    const [{ n }] = await m.query(
      `SELECT count(*)::int AS n FROM warning_versions WHERE starts_with(national_id, $1)`,
      [prefixAndTime],
    );
    return n;
  }

  async insertWarning(
    m: EntityManager,
    w: {
      kind: WarningKind;
      status: WarningStatus;
      issuerTokenId: string | null;
      issuerName: string;
      issuerDivision: string;
      source: 'api' | 'cap';
      expiresAt: Date;
      recipients: number;
    },
  ): Promise<string> {
    const [row] = await m.query(
      `INSERT INTO warnings (kind, status, issuer_token_id, issuer_name, issuer_division, source, expires_at, recipients)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [
        w.kind,
        w.status,
        w.issuerTokenId,
        w.issuerName,
        w.issuerDivision,
        w.source,
        w.expiresAt,
        w.recipients,
      ],
    );
    return row.id;
  }

  async insertVersion(
    m: EntityManager,
    warningId: string,
    content: WarningContent,
    audience: PersonRole[],
  ): Promise<void> {
    await m.query(
      `INSERT INTO warning_versions (warning_id, version, national_id, msg_type, level, audience, areas, hazard_points, risk_zones, content, sent_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        warningId,
        content.version,
        content.nationalId,
        content.msgType,
        content.level,
        audience,
        content.areas.map((a) => a.code),
        content.hazardPoints.map((a) => a.code),
        content.riskZones.map((a) => a.code),
        JSON.stringify(content),
        content.sentAt,
      ],
    );
  }

  /** The CAP senders of the versions imported from a feed, by national id. */
  async capSenders(warningId: string): Promise<Record<string, string>> {
    const rows = await this.db.query<{ id: string; sender: string }[]>(
      `SELECT national_id AS id, content->>'capSender' AS sender FROM warning_versions
        WHERE warning_id = $1 AND content ? 'capSender'`,
      [warningId],
    );
    return Object.fromEntries(rows.map((r) => [r.id, r.sender]));
  }

  /** Counts of deliveries by state. */
  async deliveryCounts(warningId: string): Promise<Record<string, number>> {
    const rows = await this.db.query<{ state: string; n: number }[]>(
      `SELECT state, count(*)::int AS n FROM deliveries WHERE warning_id = $1 GROUP BY state`,
      [warningId],
    );
    return Object.fromEntries(rows.map((r) => [r.state, r.n]));
  }

  async attemptCounts(warningId: string): Promise<Record<string, Record<string, number>>> {
    const rows = await this.db.query<{ channel: string; status: string; n: number }[]>(
      `SELECT channel, status, count(*)::int AS n FROM contact_attempts WHERE warning_id = $1 GROUP BY channel, status
       UNION ALL
       SELECT channel, status, count(*)::int FROM group_sends WHERE warning_id = $1 GROUP BY channel, status`,
      [warningId],
    );
    const out: Record<string, Record<string, number>> = {};
    for (const r of rows) (out[r.channel] ??= {})[r.status] = r.n;
    return out;
  }
}
