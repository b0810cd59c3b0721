import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { rows } from '../../database/sql';
import { claimFree, heldClaim, letGoClaim } from '../chain/send-claims';
import { joinPlaceName } from '../../templates/format';
import type { HazardGrade } from '../../common/domain/hazard-grade';
import type { RecipientContact } from '../../common/domain/targeting.types';
import { REPORT_CHAIN_MOVES, type ReportChainState, reportChainFrom } from './report-chain';

export interface DirectNoticeRecord {
  /** Ties the SMS sent for it (`hazard_report_notices.direct_notice_id`); absent on older records. */
  id?: string;
  by: string;
  at: string;
  people: number;
  means: string[];
  note?: string;
  recordedBy: string;
  recordedAt: string;
  /** The hazard point whose threatened people were texted (when the gateway sent the SMS). */
  hazardPoint?: string;
  /** What the gateway sent for it: threatened people with a number that takes SMS, SMS queued. */
  sms?: { recipients: number; queued: number };
}

export interface HazardReportRow {
  id: string;
  hazardPoint: string | null;
  hazardPointName: string | null;
  hazardType: string | null;
  hazardHouseholds: number | null;
  divisionCode: string;
  placeName: string;
  location: string | null;
  observed: string;
  peopleThreatened: number;
  possibleLoss: string | null;
  photos: string[];
  reporter: { name: string; phone?: string; role?: string };
  grade: HazardGrade;
  state: 'open' | 'closed';
  reportedByToken: string;
  reporterGrid: string | null;
  createdAt: Date;
  notifiedAt: Date | null;
  cityDeadlineAt: Date | null;
  escalateAt: Date | null;
  escalatedAt: Date | null;
  flaggedAt: Date | null;
  warningId: string | null;
  warningDraftId: string | null;
  directNotices: DirectNoticeRecord[];
}

export interface NoticeRow {
  id: string;
  personId: string | null;
  name: string | null;
  /** `threatened`: a person threatened by the hazard point (a direct notice). */
  level: 'county' | 'city' | 'county_responsible' | 'threatened';
  purpose: 'report' | 'escalation' | 'direct_notice';
  /** The direct notice record an SMS to a threatened person belongs to. */
  directNoticeId: string | null;
  /** The step of the report's chain (0: the first notices). */
  step: number;
  /** The kind of contact point it went to (mobile, landline…). */
  contactKind: string | null;
  /** The failed notice this one replaced (a failover). */
  failoverOf: string | null;
  channel: string;
  status: 'queued' | 'sending' | 'sent' | 'failed' | 'cancelled';
  error: string | null;
  /** What the provider's status callback said became of it (delivered, no-answer…). */
  outcome: string | null;
  outcomeAt: Date | null;
  createdAt: Date;
  sentAt: Date | null;
}

export interface AckRow {
  level: 'county' | 'city';
  byName: string;
  /** The person the acknowledged notice went to (keypress, SMS reply, link); null by API token. */
  personId: string | null;
  channel: string;
  at: Date;
}

export interface Recipient {
  personId: string;
  name: string;
  /** Every contact point of the person, in their own order (the step planner picks from them). */
  contacts: RecipientContact[];
  level: NoticeRow['level'];
}

/** One notice to write: a planned SMS or call to one contact point of one person. */
export interface NoticeToWrite {
  reportId: string;
  personId: string;
  level: Recipient['level'];
  purpose: NoticeRow['purpose'];
  channel: string;
  address: string;
  contactKind?: string;
  /** The step of the report's chain it belongs to (0: the first notices). */
  step?: number;
  /** The failed notice it replaces (a failover; written once per failed notice). */
  failoverOf?: string;
  directNoticeId?: string;
}

export interface ChainRow {
  level: 'county' | 'city';
  state: ReportChainState;
  step: number;
  stepStartedAt: Date;
  stepDueAt: Date;
  endedAt: Date | null;
}

/** A person's contact points as JSON, in their order (for the step planner). */
const CONTACTS_JSON = `coalesce((SELECT json_agg(json_build_object('kind', c.kind, 'value', c.value,
    'priority', c.priority, 'verifiedAt', c.verified_at) ORDER BY c.priority, c.value)
    FROM contact_points c WHERE c.person_id = p.id), '[]')`;

const REPORT_COLUMNS = `
  r.id, r.hazard_point AS "hazardPoint", hs.name AS "hazardPointName", hs.hazard AS "hazardType",
  hs.threatened_households AS "hazardHouseholds", r.division_code AS "divisionCode",
  coalesce((SELECT string_agg(d.name, '' ORDER BY length(d.code)) FROM divisions d
             WHERE starts_with(r.division_code, d.code) AND length(d.code) >= 6), r.division_code)
    AS "divisionName",
  r.location, r.observed, r.people_threatened AS "peopleThreatened", r.possible_loss AS "possibleLoss",
  r.photos, r.reporter, r.grade, r.state, r.reported_by_token AS "reportedByToken",
  r.reporter_grid AS "reporterGrid", r.created_at AS "createdAt", r.notified_at AS "notifiedAt",
  r.city_deadline_at AS "cityDeadlineAt", r.escalate_at AS "escalateAt",
  r.escalated_at AS "escalatedAt", r.flagged_at AS "flaggedAt", coalesce(r.warning_id, (SELECT wd.warning_id FROM warning_drafts wd WHERE wd.id = r.warning_draft_id)) AS "warningId",
  r.warning_draft_id AS "warningDraftId",
  r.direct_notices AS "directNotices"`;

/** A report row as selected: the place is joined from its parts in withPlaceName. */
type SelectedReportRow = Omit<HazardReportRow, 'placeName'> & { divisionName: string };

/**
 * The place of a report: its division's name, the hazard point and the location in words, without
 * repeating a division the location starts with (汶川县映秀镇渔子溪村 + 渔子溪村三组后山 →
 * 汶川县映秀镇渔子溪村三组后山, not …渔子溪村渔子溪村三组后山).
 */
function withPlaceName({ divisionName, ...r }: SelectedReportRow): HazardReportRow {
  return { ...r, placeName: joinPlaceName(divisionName, r.hazardPointName, r.location) };
}

/** Raw SQL over hazard_reports, their notices and acknowledgements. */
@Injectable()
export class HazardReportsRepository {
  constructor(@InjectDataSource() readonly db: DataSource) {}

  async insert(
    m: EntityManager,
    r: {
      hazardPoint: string | null;
      divisionCode: string;
      location: string | null;
      observed: string;
      peopleThreatened: number;
      possibleLoss: number | null;
      photos: string[];
      reporter: object;
      grade: HazardGrade;
      tokenId: string;
      reporterGrid: string | null;
      cityDeadlineMs: number | null;
      escalateAfterMs: number | null;
      /** A report by SMS: its MessageSid (a second insert with it makes nothing) and sender. */
      smsMessageSid?: string;
      personId?: string;
    },
  ): Promise<{ id: string; createdAt: Date } | undefined> {
    const [row] = await rows<{ id: string; createdAt: Date }>(
      m,
      `INSERT INTO hazard_reports (hazard_point, division_code, location, observed, people_threatened,
          possible_loss, photos, reporter, grade, reported_by_token, reporter_grid,
          city_deadline_at, escalate_at, sms_message_sid, reported_by_person)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
               now() + $12::int * interval '1 millisecond', now() + $13::int * interval '1 millisecond',
               $14, $15)
       ON CONFLICT (sms_message_sid) DO NOTHING
       RETURNING id, created_at AS "createdAt"`,
      [
        r.hazardPoint,
        r.divisionCode,
        r.location,
        r.observed,
        r.peopleThreatened,
        r.possibleLoss,
        r.photos,
        JSON.stringify(r.reporter),
        r.grade,
        r.tokenId,
        r.reporterGrid,
        r.cityDeadlineMs,
        r.escalateAfterMs,
        r.smsMessageSid ?? null,
        r.personId ?? null,
      ],
    );
    return row;
  }

  async find(
    id: string,
    m: DataSource | EntityManager = this.db,
  ): Promise<HazardReportRow | undefined> {
    const [row] = await rows<SelectedReportRow>(
      m,
      `SELECT ${REPORT_COLUMNS} FROM hazard_reports r
         LEFT JOIN hazard_sites hs ON hs.code = r.hazard_point WHERE r.id = $1`,
      [id],
    );
    return row && withPlaceName(row);
  }

  async list(filter: {
    state?: string;
    divisionPrefix?: string;
    tokenId?: string;
  }): Promise<HazardReportRow[]> {
    const found = await rows<SelectedReportRow>(
      this.db,
      `SELECT ${REPORT_COLUMNS} FROM hazard_reports r
         LEFT JOIN hazard_sites hs ON hs.code = r.hazard_point
        WHERE ($1::text IS NULL OR r.state = $1)
          AND ($2::text IS NULL OR starts_with(r.division_code, $2))
          AND ($3::text IS NULL OR r.reported_by_token = $3)
        ORDER BY r.created_at DESC LIMIT 500`,
      [filter.state ?? null, filter.divisionPrefix ?? null, filter.tokenId ?? null],
    );
    return found.map(withPlaceName);
  }

  notices(reportId: string): Promise<NoticeRow[]> {
    return rows<NoticeRow>(
      this.db,
      `SELECT n.id, n.person_id AS "personId", p.name, n.level, n.purpose, n.channel, n.status, n.error,
              n.outcome, n.outcome_at AS "outcomeAt", n.direct_notice_id AS "directNoticeId",
              n.step, n.contact_kind AS "contactKind", n.failover_of AS "failoverOf",
              n.created_at AS "createdAt", n.sent_at AS "sentAt"
         FROM hazard_report_notices n LEFT JOIN people p ON p.id = n.person_id
        WHERE n.report_id = $1 ORDER BY n.created_at, n.id`,
      [reportId],
    );
  }

  acks(reportId: string): Promise<AckRow[]> {
    return rows<AckRow>(
      this.db,
      `SELECT level, by_name AS "byName", person_id AS "personId", channel, at FROM hazard_report_acks
        WHERE report_id = $1 ORDER BY at`,
      [reportId],
    );
  }

  /** Acknowledges once per level; undefined when that level had acknowledged already. */
  async insertAck(
    m: EntityManager,
    a: {
      reportId: string;
      level: 'county' | 'city';
      tokenId: string | null;
      byName: string;
      channel: string;
      personId?: string | null;
      noticeId?: string;
    },
  ): Promise<AckRow | undefined> {
    const [row] = await rows<AckRow>(
      m,
      `INSERT INTO hazard_report_acks (report_id, level, token_id, by_name, channel, person_id, notice_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (report_id, level) DO NOTHING
       RETURNING level, by_name AS "byName", person_id AS "personId", channel, at`,
      [a.reportId, a.level, a.tokenId, a.byName, a.channel, a.personId ?? null, a.noticeId ?? null],
    );
    return row;
  }

  /**
   * Duty officers (role duty_officer) of exactly the county (6 digits) or city (4 digits), or the
   * county's responsible persons, each with all their contact points.
   */
  recipients(divisionCode: string, level: Recipient['level']): Promise<Recipient[]> {
    const role = level === 'county_responsible' ? 'county_responsible' : 'duty_officer';
    return rows<Recipient>(
      this.db,
      `SELECT p.id AS "personId", p.name, ${CONTACTS_JSON} AS contacts, $3::text AS level
         FROM people p
        WHERE p.division_code = $1 AND p.role = $2 ORDER BY p.name, p.id`,
      [divisionCode, role, level],
    );
  }

  /** A person's contact points, in their order. */
  async contactsOf(personId: string): Promise<RecipientContact[]> {
    const [row] = await rows<{ contacts: RecipientContact[] }>(
      this.db,
      `SELECT ${CONTACTS_JSON} AS contacts FROM people p WHERE p.id = $1`,
      [personId],
    );
    return row?.contacts ?? [];
  }

  /** What was already tried for a person in a step of the report's chain (channel and address). */
  tried(
    reportId: string,
    personId: string,
    step: number,
    purpose: NoticeRow['purpose'],
  ): Promise<{ channel: string; address: string }[]> {
    return rows(
      this.db,
      `SELECT channel, address FROM hazard_report_notices
        WHERE report_id = $1 AND person_id = $2 AND step = $3 AND purpose = $4 AND address IS NOT NULL`,
      [reportId, personId, step, purpose],
    );
  }

  /** The chains of a report (one per level that must acknowledge). */
  chains(reportId: string, m: DataSource | EntityManager = this.db): Promise<ChainRow[]> {
    return rows<ChainRow>(
      m,
      `SELECT level, state, step, step_started_at AS "stepStartedAt", step_due_at AS "stepDueAt",
              ended_at AS "endedAt"
         FROM hazard_report_chains WHERE report_id = $1 ORDER BY level DESC`,
      [reportId],
    );
  }

  /** Starts the chain of each level at step 0 (once: a second start writes nothing). */
  async startChains(
    m: EntityManager,
    reportId: string,
    levels: ChainRow['level'][],
    stepSeconds: number,
  ): Promise<ChainRow['level'][]> {
    const started = await rows<{ level: ChainRow['level'] }>(
      m,
      `INSERT INTO hazard_report_chains (report_id, level, step_due_at)
       SELECT $1, l, now() + $3::int * interval '1 second' FROM unnest($2::text[]) AS l
       ON CONFLICT (report_id, level) DO NOTHING RETURNING level`,
      [reportId, levels, stepSeconds],
    );
    return started.map((r) => r.level);
  }

  /**
   * The move `advance` (step `from` → `from + 1`, due `stepSeconds` later) of the chains of a report
   * whose step `from` is due; answers the levels moved. A repeated or late job moves nothing.
   */
  async advanceChains(
    m: EntityManager,
    reportId: string,
    from: number,
    stepSeconds: number,
  ): Promise<ChainRow['level'][]> {
    const moved = await rows<{ level: ChainRow['level'] }>(
      m,
      `UPDATE hazard_report_chains
          SET state = '${REPORT_CHAIN_MOVES.advance.to}', step = step + 1, step_started_at = now(),
              step_due_at = now() + $3::int * interval '1 second'
        WHERE report_id = $1 AND step = $2 AND state IN ${reportChainFrom('advance')}
          AND step_due_at <= now() RETURNING level`,
      [reportId, from, stepSeconds],
    );
    return moved.map((r) => r.level);
  }

  /** The move `exhaust` of the chains of a report whose last step `step` is due. */
  async exhaustChains(
    m: EntityManager,
    reportId: string,
    step: number,
  ): Promise<ChainRow['level'][]> {
    const moved = await rows<{ level: ChainRow['level'] }>(
      m,
      `UPDATE hazard_report_chains SET state = '${REPORT_CHAIN_MOVES.exhaust.to}', ended_at = now()
        WHERE report_id = $1 AND step = $2 AND state IN ${reportChainFrom('exhaust')}
          AND step_due_at <= now() RETURNING level`,
      [reportId, step],
    );
    return moved.map((r) => r.level);
  }

  /**
   * The move `acknowledge` of a level's chain, and its notices still waiting cancelled (nothing more
   * goes to an office that has acknowledged). Answers whether the chain moved.
   */
  async acknowledgeChain(
    m: EntityManager,
    reportId: string,
    level: ChainRow['level'],
  ): Promise<boolean> {
    const moved = await rows(
      m,
      `UPDATE hazard_report_chains SET state = '${REPORT_CHAIN_MOVES.acknowledge.to}', ended_at = now()
        WHERE report_id = $1 AND level = $2 AND state IN ${reportChainFrom('acknowledge')}
        RETURNING level`,
      [reportId, level],
    );
    await m.query(
      `UPDATE hazard_report_notices SET status = 'cancelled', error = 'acknowledged'
        WHERE report_id = $1 AND level = $2 AND status = 'queued'
          AND purpose IN ('report', 'escalation')`,
      [reportId, level],
    );
    return moved.length > 0;
  }

  /** Running chains (for the sweep: their next step's timer). */
  runningChains(): Promise<{ reportId: string; step: number; stepDueAt: Date }[]> {
    return rows(
      this.db,
      `SELECT report_id AS "reportId", min(step)::int AS step, min(step_due_at) AS "stepDueAt"
         FROM hazard_report_chains WHERE state = 'running'
        GROUP BY report_id ORDER BY min(step_due_at) LIMIT 1000`,
    );
  }

  /**
   * The people threatened by a hazard point (`hazard_site_people.relation = 'threatened'`), each with
   * their contact points in their own order (the chain's step planner picks the one for SMS).
   */
  threatenedPeople(
    hazardPoint: string,
  ): Promise<{ personId: string; name: string; contacts: RecipientContact[] }[]> {
    return rows(
      this.db,
      `SELECT p.id AS "personId", p.name,
              ${CONTACTS_JSON} AS contacts
         FROM hazard_site_people hp JOIN people p ON p.id = hp.person_id
        WHERE hp.site_code = $1 AND hp.relation = 'threatened' ORDER BY p.name, p.id`,
      [hazardPoint],
    );
  }

  /** A notice with the person it went to (for its send, the call's TwiML and its keypress). */
  async findNotice(id: string): Promise<
    | {
        id: string;
        reportId: string;
        level: NoticeRow['level'];
        purpose: NoticeRow['purpose'];
        channel: string;
        status: NoticeRow['status'];
        address: string | null;
        name: string | null;
        personId: string | null;
        directNoticeId: string | null;
        step: number;
        contactKind: string | null;
        createdAt: Date;
      }
    | undefined
  > {
    const [row] = await this.db.query(
      `SELECT n.id, n.report_id AS "reportId", n.level, n.purpose, n.channel, n.status, n.address,
              p.name, n.person_id AS "personId", n.direct_notice_id AS "directNoticeId",
              n.step, n.contact_kind AS "contactKind", n.created_at AS "createdAt"
         FROM hazard_report_notices n LEFT JOIN people p ON p.id = n.person_id WHERE n.id = $1`,
      [id],
    );
    return row;
  }

  /**
   * Writes notices to be sent (`queued`), in one statement; answers their ids in order. A failover
   * already written for the same failed notice is not written again (and not answered).
   */
  async insertNotices(
    list: NoticeToWrite[],
    m: DataSource | EntityManager = this.db,
  ): Promise<string[]> {
    if (!list.length) return [];
    const found = await rows<{ id: string }>(
      m,
      `INSERT INTO hazard_report_notices
              (report_id, person_id, level, purpose, channel, address, direct_notice_id,
               contact_kind, step, failover_of, status)
       SELECT * , 'queued' FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                                       $6::text[], $7::uuid[], $8::text[], $9::int[], $10::uuid[])
       ON CONFLICT (failover_of) DO NOTHING
       RETURNING id`,
      [
        list.map((n) => n.reportId),
        list.map((n) => n.personId),
        list.map((n) => n.level),
        list.map((n) => n.purpose),
        list.map((n) => n.channel),
        list.map((n) => n.address),
        list.map((n) => n.directNoticeId ?? null),
        list.map((n) => n.contactKind ?? null),
        list.map((n) => n.step ?? 0),
        list.map((n) => n.failoverOf ?? null),
      ],
    );
    return found.map((r) => r.id);
  }

  /** Claims a notice for its send (queued, or left sending by a worker that died); false when done. */
  async claimNotice(id: string, token: string, leaseSeconds: number): Promise<boolean> {
    const claimed = await rows(
      this.db,
      `UPDATE hazard_report_notices n SET status = 'sending', tries = n.tries + 1, claimed_at = now(), claim_token = $2
        WHERE n.id = $1 AND n.status IN ('queued', 'sending') AND ${claimFree('n', '$3')} RETURNING n.id`,
      [id, token, leaseSeconds],
    );
    return claimed.length > 0;
  }

  /** A claim not taken: the notice's status, and how long another run's claim still holds (ms). */
  noticeClaimHeld(id: string, leaseSeconds: number) {
    return heldClaim(this.db, 'hazard_report_notices', id, leaseSeconds);
  }

  /** A run ends without a result: the next run takes its claim at once (and asks first). */
  letGoNotice(id: string, token: string): Promise<void> {
    return letGoClaim(this.db, 'hazard_report_notices', id, token);
  }

  /** Nothing reached the provider (its circuit is open): back to queued, the try not counted. */
  async releaseNotice(id: string, token: string): Promise<void> {
    await this.db.query(
      `UPDATE hazard_report_notices SET status = 'queued', tries = greatest(tries - 1, 0), claim_token = NULL
        WHERE id = $1 AND status = 'sending' AND claim_token = $2`,
      [id, token],
    );
  }

  /**
   * Provider ids already recorded for messages and calls to this number since then, by report
   * notices and by warning sends (reconciliation: a message found at the provider under one of
   * these ids is not the lost one).
   */
  async recordedProviderIds(address: string, since: Date): Promise<string[]> {
    const found = await rows<{ id: string }>(
      this.db,
      `SELECT provider_id AS id FROM hazard_report_notices
        WHERE address = $1 AND provider_id IS NOT NULL AND created_at >= $2::timestamptz - interval '1 hour'
       UNION
       SELECT provider_id FROM contact_attempts
        WHERE address = $1 AND provider_id IS NOT NULL AND queued_at >= $2::timestamptz - interval '1 hour'`,
      [address, since],
    );
    return found.map((r) => r.id);
  }

  /** Notices still queued or sending after `olderThanMs` (their job may be lost). */
  openNotices(olderThanMs: number): Promise<{ id: string }[]> {
    return rows<{ id: string }>(
      this.db,
      `SELECT id FROM hazard_report_notices
        WHERE status IN ('queued', 'sending') AND created_at < now() - $1::int * interval '1 millisecond'
        ORDER BY created_at LIMIT 500`,
      [olderThanMs],
    );
  }

  /** The provider's status callback: what became of the SMS or call (the final status only). */
  async recordOutcome(id: string, outcome: string, providerId: string): Promise<boolean> {
    const done = await rows(
      this.db,
      `UPDATE hazard_report_notices SET outcome = $2, outcome_at = now(),
              provider_id = coalesce(provider_id, $3),
              status = CASE WHEN status IN ('queued', 'sending') THEN 'sent' ELSE status END,
              sent_at = coalesce(sent_at, now())
        WHERE id = $1 AND outcome IS NULL RETURNING id`,
      [id, outcome, providerId],
    );
    return done.length > 0;
  }

  async finishNotice(
    id: string,
    outcome:
      { status: 'sent'; providerId: string } | { status: 'failed' | 'cancelled'; error: string },
  ): Promise<void> {
    await this.db.query(
      `UPDATE hazard_report_notices
          SET status = $2, provider_id = coalesce(provider_id, $3), error = $4,
              sent_at = CASE WHEN $2 = 'sent' THEN coalesce(sent_at, now()) END
        WHERE id = $1 AND status IN ('queued', 'sending')`,
      [
        id,
        outcome.status,
        outcome.status === 'sent' ? outcome.providerId : null,
        outcome.status === 'sent' ? null : outcome.error.slice(0, 500),
      ],
    );
  }
}
