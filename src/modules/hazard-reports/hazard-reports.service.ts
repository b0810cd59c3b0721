import { randomUUID } from 'node:crypto';
import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import type { Principal } from '../../common/auth/auth.decorators';
import { assertWithinJurisdiction, withinJurisdiction } from '../auth/jurisdiction';
import type { CreateWarningDto } from '../warnings/dto/create-warning.dto';
import type { HazardType } from '../../common/domain/warning.types';
import { needsSecondOfficer } from '../warnings/release-policy';
import { WarningDraftsService } from '../warnings/warning-drafts.service';
import { defaultAudience } from '../warnings/warning-rules';
import { WarningsService } from '../warnings/warnings.service';
import type {
  CreateHazardReportDto,
  DirectNoticeDto,
  DraftWarningDto,
} from './dto/hazard-report.dto';
import {
  CITY_DEADLINE_MS,
  escalateAfterSeconds,
  gradeOf,
  mustReachCity,
} from '../../common/domain/hazard-grade';
import { firstContactFor } from '../chain/contact-plan';
import { HazardReportNotifier } from './hazard-report.notifier';
import { HazardReportQueue } from './hazard-report.queue';
import { HazardReportSender } from './hazard-report.sender';
import {
  type HazardReportSmsHandler,
  parseHazardReportSms,
  parseHazardReportText,
} from './hazard-report-sms';
import type { HazardAckLinkView } from './hazard-report-pages';
import { hazardSmsReply } from '../../templates/hazard-report';
import {
  type DirectNoticeRecord,
  type HazardReportRow,
  HazardReportsRepository,
} from './hazard-reports.repository';

/** Who may report a hazard by SMS (险情 …), in the order a number shared by several is taken as. */
const SMS_REPORTER_ROLES = [
  'group_monitor',
  'grid_member',
  'grid_leader',
  'resident_geologist',
  'area_lead',
  'village_responsible',
  'township_responsible',
  'county_responsible',
];

export type CityDeadlineStatus = 'not_required' | 'pending' | 'at_risk' | 'met' | 'missed';

/** 险情上报: reports, their grading, the duty offices told, acknowledgements and the 1-hour rule. */
@Injectable()
export class HazardReportsService implements OnApplicationBootstrap, HazardReportSmsHandler {
  private readonly logger = new Logger(HazardReportsService.name);

  constructor(
    private readonly repo: HazardReportsRepository,
    private readonly sender: HazardReportSender,
    private readonly warnings: WarningsService,
    private readonly audit: AuditService,
    private readonly drafts: WarningDraftsService,
    private readonly notifier: HazardReportNotifier,
    private readonly queue: HazardReportQueue,
  ) {}

  onApplicationBootstrap(): void {
    escalateAfterSeconds(); // a bad value stops the boot, naming the variable
  }

  /** POST /v1/hazard-reports. */
  async create(principal: Principal, dto: CreateHazardReportDto) {
    const place = await this.placeOf(principal, dto);
    const id = await this.record({
      actor: principal.tokenId,
      hazardPoint: place.hazardPoint,
      divisionCode: place.divisionCode,
      location: dto.location?.trim() || null,
      observed: dto.observed.trim(),
      peopleThreatened: dto.peopleThreatened,
      possibleLoss: dto.possibleLoss ?? null,
      photos: dto.photos ?? [],
      reporter: {
        name: dto.reporter.name,
        ...(dto.reporter.phone ? { phone: dto.reporter.phone } : {}),
        ...(dto.reporter.role ? { role: dto.reporter.role } : {}),
      },
      reporterGrid: principal.role === 'grid_member' ? (principal.gridCode ?? null) : null,
    });
    return this.view(id as string);
  }

  /**
   * Writes a report and its audit event (one transaction), then starts its notices and deadline
   * timer. Undefined when a report with the same SMS MessageSid exists (a retried webhook).
   */
  private async record(r: {
    actor: string;
    hazardPoint: string | null;
    divisionCode: string;
    location: string | null;
    observed: string;
    peopleThreatened: number;
    possibleLoss: number | null;
    photos: string[];
    reporter: { name: string; phone?: string; role?: string };
    reporterGrid: string | null;
    via?: { smsMessageSid: string; personId: string };
  }): Promise<string | undefined> {
    const grade = gradeOf(r.peopleThreatened);
    const city = mustReachCity(grade);
    const escalateAfterMs = Math.round(escalateAfterSeconds() * 1000);
    const created = await this.repo.db.transaction(async (m) => {
      const row = await this.repo.insert(m, {
        hazardPoint: r.hazardPoint,
        divisionCode: r.divisionCode,
        location: r.location,
        observed: r.observed,
        peopleThreatened: r.peopleThreatened,
        possibleLoss: r.possibleLoss,
        photos: r.photos,
        reporter: r.reporter,
        grade,
        tokenId: r.actor,
        reporterGrid: r.reporterGrid,
        cityDeadlineMs: city ? CITY_DEADLINE_MS : null,
        escalateAfterMs: city ? escalateAfterMs : null,
        ...(r.via ? { smsMessageSid: r.via.smsMessageSid, personId: r.via.personId } : {}),
      });
      if (!row) return undefined;
      await this.audit.append(
        [
          {
            actor: r.actor,
            action: 'hazard_report.created',
            subjectType: 'hazard_report',
            subjectId: row.id,
            data: {
              grade,
              peopleThreatened: r.peopleThreatened,
              divisionCode: r.divisionCode,
              hazardPoint: r.hazardPoint,
              mustReachCity: city,
              ...(r.via ? { channel: 'sms' } : {}),
            },
          },
        ],
        m,
      );
      return row;
    });
    if (!created) return undefined;
    await this.notifier.start(created.id).catch((err: unknown) =>
      // The sweep notifies a report left unnotified and rebuilds its deadline timer.
      this.logger.warn({ reportId: created.id, err: String(err) }, 'hazard report notify failed'),
    );
    return created.id;
  }

  /** GET /v1/hazard-reports/:id. */
  async get(principal: Principal, id: string) {
    const report = await this.visible(principal, id);
    return this.present(report);
  }

  /** GET /v1/hazard-reports. */
  async list(principal: Principal, state?: 'open' | 'closed') {
    const reports = await this.repo.list({
      state,
      divisionPrefix:
        principal.role === 'duty_officer' ? (principal.jurisdiction ?? '\u0000') : undefined,
      tokenId: principal.role === 'grid_member' ? principal.tokenId : undefined,
    });
    return Promise.all(reports.map((r) => this.present(r, { brief: true })));
  }

  /** POST /v1/hazard-reports/:id/acknowledge: a duty office has the report (once per level). */
  async acknowledge(principal: Principal, id: string) {
    const report = await this.visible(principal, id);
    const jurisdiction = principal.jurisdiction ?? '';
    const level = jurisdiction.length <= 4 ? 'city' : 'county';
    const result = await this.repo.db.transaction(async (m) => {
      const ack = await this.repo.insertAck(m, {
        reportId: report.id,
        level,
        tokenId: principal.tokenId,
        byName: principal.name,
        channel: 'api',
      });
      if (ack) {
        await this.repo.acknowledgeChain(m, report.id, level);
        await this.audit.append(
          [
            {
              actor: principal.tokenId,
              action: 'hazard_report.acknowledged',
              subjectType: 'hazard_report',
              subjectId: report.id,
              data: { level, channel: 'api' },
            },
          ],
          m,
        );
      }
      return ack;
    });
    const acks = await this.repo.acks(report.id);
    const mine = acks.find((a) => a.level === level);
    return {
      level,
      recorded: !!result,
      by: mine?.byName ?? principal.name,
      at: mine?.at ?? new Date(),
    };
  }

  /** The scripts a report call reads; undefined for an unknown notice. */
  async callScripts(noticeId: string) {
    const notice = await this.repo.findNotice(noticeId);
    const report = notice && (await this.repo.find(notice.reportId));
    if (!notice || !report) return undefined;
    return this.sender.callScripts(report, notice.purpose);
  }

  /**
   * An SMS starting with 险情. 险情1 / 险情 确认 <报告号>: acknowledges, for the sender's level, the
   * latest report notice sent to their number (or the one whose number they give). 险情 <words>
   * from a monitor, grid member or responsible person: a new report (answered with its number).
   */
  async handleSms(e: {
    messageSid: string;
    from: string;
    body: string;
  }): Promise<{ acknowledged: boolean; reply: string }> {
    const parsed = parseHazardReportSms(e.body);
    if (!parsed.ack && parsed.text) {
      const reporter = await this.smsReporter(e.from);
      if (reporter) return { acknowledged: false, reply: await this.reportBySms(e, reporter) };
    }
    const [notice] = await rows<{ id: string }>(
      this.repo.db,
      `SELECT n.id FROM hazard_report_notices n
         JOIN contact_points c ON c.person_id = n.person_id AND c.kind = 'mobile' AND c.value = $1
        WHERE n.level IN ('county', 'city')
          AND ($2::text IS NULL OR starts_with(n.report_id::text, $2))
        ORDER BY n.created_at DESC LIMIT 1`,
      [e.from, parsed.reportNo ?? null],
    );
    if (!notice) {
      // Words after 险情 from a number that may not report: say so; else there is nothing to acknowledge.
      const kind = parsed.text ? 'not_a_reporter' : parsed.ack ? 'no_notice' : 'how_to_report';
      return { acknowledged: false, reply: hazardSmsReply(kind) };
    }
    if (!parsed.ack) return { acknowledged: false, reply: hazardSmsReply('how_to_acknowledge') };
    const found = await this.repo.findNotice(notice.id);
    const report = found && (await this.repo.find(found.reportId));
    if (!found || !report)
      return { acknowledged: false, reply: hazardSmsReply('report_not_found') };
    const recorded = await this.acknowledgeByNotice(notice.id, 'sms');
    const ctx = { reportId: report.id, placeName: report.placeName, grade: report.grade };
    return {
      acknowledged: recorded,
      reply: hazardSmsReply(recorded ? 'acknowledged' : 'already_acknowledged', ctx),
    };
  }

  /** Who may report by SMS: a known monitor, grid member or responsible person with this mobile. */
  private async smsReporter(mobile: string) {
    const [person] = await rows<{
      id: string;
      name: string;
      role: string;
      divisionCode: string;
      gridCode: string | null;
    }>(
      this.repo.db,
      `SELECT p.id, p.name, p.role, p.division_code AS "divisionCode", p.grid_code AS "gridCode"
         FROM people p JOIN contact_points c ON c.person_id = p.id AND c.kind = 'mobile' AND c.value = $1
        WHERE p.role = ANY ($2::text[])
        ORDER BY array_position($2::text[], p.role::text), p.id LIMIT 1`,
      [mobile, SMS_REPORTER_ROLES],
    );
    return person;
  }

  /**
   * 险情 <place> <what> <N人> from a known person: the place is a hazard point or division of their
   * county named in the text, else their own division; the people threatened when given (else 0,
   * and they are asked to phone it in). Once per MessageSid.
   */
  private async reportBySms(
    e: { messageSid: string; from: string; body: string },
    person: {
      id: string;
      name: string;
      role: string;
      divisionCode: string;
      gridCode: string | null;
    },
  ): Promise<string> {
    const { text } = parseHazardReportSms(e.body);
    const words = parseHazardReportText(text);
    const county = person.divisionCode.slice(0, 6);
    const [site] = await rows<{ code: string; division: string }>(
      this.repo.db,
      `SELECT code, division_code AS division FROM hazard_sites
        WHERE type = 'hazard_point' AND starts_with(division_code, $1) AND position(name IN $2) > 0
        ORDER BY length(name) DESC, code LIMIT 1`,
      [county, text],
    );
    const [division] = site
      ? []
      : await rows<{ code: string }>(
          this.repo.db,
          `SELECT code FROM divisions
            WHERE starts_with(code, $1) AND length(code) > 6 AND position(name IN $2) > 0
            ORDER BY length(name) DESC, length(code) DESC, code LIMIT 1`,
          [county, text],
        );
    const id = await this.record({
      actor: `sms:${person.id}`,
      hazardPoint: site?.code ?? null,
      divisionCode: site?.division ?? division?.code ?? person.divisionCode,
      location: words.location || null,
      observed: words.observed,
      peopleThreatened: words.peopleThreatened ?? 0,
      possibleLoss: null,
      photos: [],
      reporter: { name: person.name, phone: e.from, role: person.role },
      reporterGrid: person.gridCode,
      via: { smsMessageSid: e.messageSid, personId: person.id },
    });
    // A retried webhook: answer with the report it made the first time.
    const [made] = id
      ? [{ id }]
      : await rows<{ id: string }>(
          this.repo.db,
          `SELECT id FROM hazard_reports WHERE sms_message_sid = $1`,
          [e.messageSid],
        );
    const report = made && (await this.repo.find(made.id));
    if (!report) return hazardSmsReply('report_not_found');
    this.logger.log({ reportId: report.id, grade: report.grade }, 'hazard report made by SMS');
    return hazardSmsReply('report_received', {
      reportId: report.id,
      placeName: report.placeName,
      grade: report.grade,
      peopleThreatened: report.peopleThreatened,
      toCity: mustReachCity(report.grade),
      peopleMissing: words.peopleThreatened === undefined,
    });
  }

  /**
   * The page of a notice's signed link (/c/h/:token): the report, the level the notice is for and,
   * once that level has acknowledged, who did and when. Undefined for an unknown notice.
   */
  async linkView(noticeId: string): Promise<HazardAckLinkView | undefined> {
    const notice = await this.repo.findNotice(noticeId);
    const report = notice && (await this.repo.find(notice.reportId));
    if (!notice || !report || (notice.level !== 'county' && notice.level !== 'city'))
      return undefined;
    const ack = (await this.repo.acks(report.id)).find((a) => a.level === notice.level);
    return {
      level: notice.level,
      recipient: notice.name ?? '',
      placeName: report.placeName,
      grade: report.grade,
      peopleThreatened: report.peopleThreatened,
      observed: report.observed,
      reporter: report.reporter.name,
      createdAt: new Date(report.createdAt),
      cityDeadline: report.cityDeadlineAt ? new Date(report.cityDeadlineAt) : null,
      reportId: report.id,
      acknowledged: ack ? { by: ack.byName, at: new Date(ack.at), channel: ack.channel } : null,
    };
  }

  /** The one-tap button of a notice's signed link: its level acknowledges (once). */
  async acknowledgeByLink(noticeId: string): Promise<boolean> {
    return this.acknowledgeByNotice(noticeId, 'link');
  }

  /** Key 1 on a report call: the called duty office acknowledges (once per level). */
  async acknowledgeByKeypress(noticeId: string): Promise<boolean> {
    return this.acknowledgeByNotice(noticeId, 'voice');
  }

  /** The person a notice went to acknowledges for its level (once per level). */
  private async acknowledgeByNotice(
    noticeId: string,
    channel: 'voice' | 'sms' | 'link',
  ): Promise<boolean> {
    const notice = await this.repo.findNotice(noticeId);
    // Only a duty office acknowledges (not the county's responsible persons, nor threatened people).
    if (!notice || (notice.level !== 'county' && notice.level !== 'city')) return false;
    const level = notice.level;
    return this.repo.db.transaction(async (m) => {
      const ack = await this.repo.insertAck(m, {
        reportId: notice.reportId,
        level,
        tokenId: null,
        byName: notice.name ?? '',
        channel,
        personId: notice.personId,
        noticeId: notice.id,
      });
      if (ack) {
        await this.repo.acknowledgeChain(m, notice.reportId, level);
        await this.audit.append(
          [
            {
              actor: notice.personId ?? 'unknown',
              action: 'hazard_report.acknowledged',
              subjectType: 'hazard_report',
              subjectId: notice.reportId,
              data: { level, channel, noticeId },
            },
          ],
          m,
        );
      }
      return !!ack;
    });
  }

  /**
   * POST /v1/hazard-reports/:id/direct-notice: in extreme danger the responsible person on site
   * notifies the people threatened by the hazard point at once. Recorded as such; with `sendSms`
   * the gateway texts each of them (their first number that takes SMS, as the chain's step planner
   * picks it) through the report notices' queue and provider path. The record, its notices (queued)
   * and the audit event are written in one transaction, so the duty office sees the direct notice
   * in the report at once; a notice whose job could not be queued is queued by the sweep.
   */
  async directNotice(principal: Principal, id: string, dto: DirectNoticeDto) {
    const report = await this.visible(principal, id);
    const hazardPoint = dto.sendSms ? await this.directNoticePoint(report, dto) : undefined;
    const threatened = hazardPoint ? await this.repo.threatenedPeople(hazardPoint) : [];
    const sends = threatened.flatMap((p) => {
      const c = firstContactFor(p.contacts, 'sms');
      return c ? [{ personId: p.personId, address: c.value }] : [];
    });
    const recordId = randomUUID();
    const record: DirectNoticeRecord = {
      id: recordId,
      by: dto.by,
      at: dto.at ? new Date(dto.at).toISOString() : new Date().toISOString(),
      people: dto.people,
      means: dto.means,
      ...(dto.note ? { note: dto.note } : {}),
      recordedBy: principal.name,
      recordedAt: new Date().toISOString(),
      ...(hazardPoint
        ? { hazardPoint, sms: { recipients: sends.length, queued: sends.length } }
        : {}),
    };
    const noticeIds = await this.repo.db.transaction(async (m) => {
      await m.query(
        `UPDATE hazard_reports SET direct_notices = direct_notices || $2::jsonb WHERE id = $1`,
        [report.id, JSON.stringify([record])],
      );
      const ids = sends.length
        ? await this.repo.insertNotices(
            sends.map((x) => ({
              reportId: report.id,
              personId: x.personId,
              level: 'threatened' as const,
              purpose: 'direct_notice' as const,
              channel: 'sms',
              address: x.address,
              directNoticeId: recordId,
            })),
            m,
          )
        : [];
      await this.audit.append(
        [
          {
            actor: principal.tokenId,
            action: 'hazard_report.direct_notice',
            subjectType: 'hazard_report',
            subjectId: report.id,
            data: {
              directNoticeId: recordId,
              people: dto.people,
              means: dto.means,
              ...(hazardPoint
                ? { hazardPoint, sms: ids.length, threatened: threatened.length }
                : {}),
            },
          },
        ],
        m,
      );
      return ids;
    });
    // If queueing fails (the queue backend is down), the sweep queues them from Postgres.
    await this.queue
      .enqueueNotices(noticeIds)
      .catch((err: unknown) =>
        this.logger.warn(
          { reportId: report.id, err: String(err) },
          'direct notice SMS not queued: left to the sweep',
        ),
      );
    if (hazardPoint && threatened.length > sends.length)
      this.logger.warn(
        { reportId: report.id, hazardPoint, withoutSms: threatened.length - sends.length },
        'threatened people without a number that takes SMS: not texted',
      );
    return this.view(report.id);
  }

  /** The hazard point a direct notice texts: the one named (in the report's county), else the report's. */
  private async directNoticePoint(report: HazardReportRow, dto: DirectNoticeDto): Promise<string> {
    const code = dto.hazardPoint ?? report.hazardPoint;
    if (!code)
      throw AppException.validation([
        {
          field: 'hazardPoint',
          message: 'the report names no hazard point: name the one whose threatened people to text',
        },
      ]);
    const [site] = await rows<{ code: string }>(
      this.repo.db,
      `SELECT code FROM hazard_sites
        WHERE code = $1 AND type = 'hazard_point' AND starts_with(division_code, $2)`,
      [code, report.divisionCode.slice(0, 6)],
    );
    if (!site)
      throw AppException.validation([
        { field: 'hazardPoint', message: "unknown hazard point, or not in the report's county" },
      ]);
    return site.code;
  }

  /** POST /v1/hazard-reports/:id/warning: an imminent warning drafted from the report, issued. */
  async draftWarning(principal: Principal, id: string, dto: DraftWarningDto) {
    const report = await this.visible(principal, id);
    if (report.warningId || report.warningDraftId) {
      throw new AppException(
        ErrorCode.Conflict,
        `该险情已发布（或起草）临灾预警：${report.warningId ?? report.warningDraftId}`,
        `A warning was issued (or drafted) for this report already: ${report.warningId ?? report.warningDraftId}`,
        { warningId: report.warningId, warningDraftId: report.warningDraftId },
      );
    }
    const hazard = (dto.hazard ?? report.hazardType) as HazardType | null;
    if (!hazard) {
      throw AppException.validation([
        { field: 'hazard', message: 'the report names no hazard point: give the hazard type' },
      ]);
    }
    const now = Date.now();
    const shelter = dto.shelter ?? '就近安全避险场所';
    const body: CreateWarningDto = {
      kind: 'imminent',
      level: dto.level ?? (mustReachCity(report.grade) ? 'red' : 'orange'),
      hazard,
      headline: dto.headline ?? `${report.placeName}地质灾害临灾预警`.slice(0, 200),
      description: `${report.placeName}发生${report.grade}地质灾害险情：${report.observed}`.slice(
        0,
        4000,
      ),
      instruction: dto.instruction ?? `受威胁群众立即撤离至${shelter}`,
      areas: [report.divisionCode],
      ...(report.hazardPoint ? { hazardPoints: [report.hazardPoint] } : {}),
      effective: new Date(now).toISOString(),
      onset: dto.onset ?? new Date(now + 3600_000).toISOString(),
      expires: dto.expires ?? new Date(now + 24 * 3600_000).toISOString(),
      extent: (report.location ?? `${report.hazardPointName ?? report.placeName}及周边`).slice(
        0,
        500,
      ),
      impact: {
        people: report.peopleThreatened,
        households: report.hazardHouseholds ?? 0,
      },
      shelter,
    };
    // The two-person release (TWO_PERSON_RELEASE) holds here as on POST /v1/warnings: a public
    // red warning is drafted for another duty officer to approve, and linked as a draft.
    const audience = defaultAudience(body.kind, body.level, 'actual');
    if (needsSecondOfficer({ level: body.level, status: 'actual', audience })) {
      const draft = (await this.drafts.draft(principal, body)) as { id: string };
      await this.repo.db.transaction(async (m) => {
        const [linked] = await rows<{ id: string }>(
          m,
          `UPDATE hazard_reports SET warning_draft_id = $2
            WHERE id = $1 AND warning_id IS NULL AND warning_draft_id IS NULL RETURNING id`,
          [report.id, draft.id],
        );
        if (linked) {
          await this.audit.append(
            [
              {
                actor: principal.tokenId,
                action: 'hazard_report.warning_drafted',
                subjectType: 'hazard_report',
                subjectId: report.id,
                data: { warningDraftId: draft.id, level: body.level, awaitingApproval: true },
              },
            ],
            m,
          );
        }
      });
      return { statusCode: 202, body: { reportId: report.id, draft } };
    }
    const issued = await this.warnings.issue(principal, body, {
      idempotencyKey: `hazard-report:${report.id}`,
    });
    const warning = issued.body as { id: string; nationalId: string; recipients: number };
    await this.repo.db.transaction(async (m) => {
      const [linked] = await rows<{ id: string }>(
        m,
        `UPDATE hazard_reports SET warning_id = $2 WHERE id = $1 AND warning_id IS NULL RETURNING id`,
        [report.id, warning.id],
      );
      if (linked) {
        await this.audit.append(
          [
            {
              actor: principal.tokenId,
              action: 'hazard_report.warning_drafted',
              subjectType: 'hazard_report',
              subjectId: report.id,
              warningId: warning.id,
              data: { warningId: warning.id, level: body.level, people: report.peopleThreatened },
            },
          ],
          m,
        );
      }
    });
    return { statusCode: 201, body: { reportId: report.id, warning: issued.body } };
  }

  /** Where the report is: a hazard point, or a division and words; within the caller's area. */
  private async placeOf(
    principal: Principal,
    dto: CreateHazardReportDto,
  ): Promise<{ hazardPoint: string | null; divisionCode: string }> {
    let village: string | undefined;
    if (principal.role === 'grid_member') {
      const [grid] = await rows<{ village: string }>(
        this.repo.db,
        `SELECT village_code AS village FROM grids WHERE code = $1`,
        [principal.gridCode],
      );
      if (!grid) throw AppException.notFound('网格', principal.gridCode ?? '');
      village = grid.village;
    }
    let hazardPoint: string | null = null;
    let divisionCode: string;
    let field: string;
    if (dto.hazardPoint) {
      const [site] = await rows<{ division: string }>(
        this.repo.db,
        `SELECT division_code AS division FROM hazard_sites WHERE code = $1`,
        [dto.hazardPoint],
      );
      if (!site)
        throw AppException.validation([{ field: 'hazardPoint', message: 'unknown hazard point' }]);
      hazardPoint = dto.hazardPoint;
      divisionCode = site.division;
      field = 'hazardPoint';
    } else {
      const code = dto.divisionCode ?? village;
      if (!code)
        throw AppException.validation([
          { field: 'hazardPoint', message: 'give hazardPoint, or divisionCode and location' },
        ]);
      if (!dto.location?.trim())
        throw AppException.validation([
          { field: 'location', message: 'without a hazard point, say where (location)' },
        ]);
      const [division] = await rows<{ code: string }>(
        this.repo.db,
        `SELECT code FROM divisions WHERE code = $1`,
        [code],
      );
      if (!division)
        throw AppException.validation([{ field: 'divisionCode', message: 'unknown division' }]);
      divisionCode = code;
      field = 'divisionCode';
    }
    if (principal.role === 'grid_member') {
      if (!village || !divisionCode.startsWith(village)) {
        throw new AppException(
          ErrorCode.OutsideJurisdiction,
          `超出辖区：${divisionCode}`,
          `Outside your grid's village: ${divisionCode}`,
          { fields: [{ field, message: `a grid member reports for village ${village}` }] },
        );
      }
    } else {
      assertWithinJurisdiction(principal, [divisionCode], field);
    }
    return { hazardPoint, divisionCode };
  }

  /** The report if the caller may see it (grid members: their own), else 404. */
  private async visible(principal: Principal, id: string): Promise<HazardReportRow> {
    const report = await this.repo.find(id);
    const ok =
      report &&
      (principal.role === 'grid_member'
        ? report.reportedByToken === principal.tokenId
        : withinJurisdiction(principal, report.divisionCode));
    if (!report || !ok) throw AppException.notFound('险情报告', id);
    return report;
  }

  private async view(id: string) {
    return this.present((await this.repo.find(id)) as HazardReportRow);
  }

  private async present(r: HazardReportRow, opts: { brief?: boolean } = {}) {
    const [notices, acks, chains] = await Promise.all([
      opts.brief ? Promise.resolve([]) : this.repo.notices(r.id),
      this.repo.acks(r.id),
      this.repo.chains(r.id),
    ]);
    const cityAck = acks.find((a) => a.level === 'city');
    const deadline = r.cityDeadlineAt ? new Date(r.cityDeadlineAt) : null;
    let status: CityDeadlineStatus = 'not_required';
    if (deadline) {
      if (cityAck) status = new Date(cityAck.at) <= deadline ? 'met' : 'missed';
      else if (Date.now() > deadline.getTime()) status = 'missed';
      else if (r.flaggedAt) status = 'at_risk';
      else status = 'pending';
    }
    return {
      id: r.id,
      grade: r.grade,
      state: r.state,
      place: {
        hazardPoint: r.hazardPoint,
        hazardPointName: r.hazardPointName,
        divisionCode: r.divisionCode,
        location: r.location,
        name: r.placeName,
      },
      observed: r.observed,
      peopleThreatened: r.peopleThreatened,
      possibleLoss: r.possibleLoss === null ? null : Number(r.possibleLoss),
      photos: r.photos,
      reporter: r.reporter,
      createdAt: r.createdAt,
      cityDeadline: {
        required: !!deadline,
        deadlineAt: deadline,
        status,
        acknowledgedAt: cityAck?.at ?? null,
      },
      flagged: !!r.flaggedAt,
      flaggedAt: r.flaggedAt,
      escalatedAt: r.escalatedAt,
      notified: notices.map((n) => ({
        personId: n.personId,
        name: n.name,
        level: n.level,
        purpose: n.purpose,
        channel: n.channel,
        status: n.status,
        sentAt: n.sentAt,
        outcome: n.outcome,
        outcomeAt: n.outcomeAt,
        step: n.step,
        contactKind: n.contactKind,
        failover: !!n.failoverOf,
        directNoticeId: n.directNoticeId,
      })),
      chains: chains.map((c) => ({
        level: c.level,
        state: c.state,
        step: c.step,
        stepStartedAt: c.stepStartedAt,
        stepDueAt: c.stepDueAt,
        endedAt: c.endedAt,
      })),
      acknowledgements: acks.map((a) => ({
        level: a.level,
        by: a.byName,
        personId: a.personId,
        channel: a.channel,
        at: a.at,
      })),
      warningId: r.warningId,
      warningDraftId: r.warningDraftId,
      directNotices: r.directNotices,
    };
  }
}
