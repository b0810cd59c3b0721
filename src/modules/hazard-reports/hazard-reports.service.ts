import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import type { Principal } from '../auth/auth.decorators';
import { assertWithinJurisdiction, withinJurisdiction } from '../auth/jurisdiction';
import type { CreateWarningDto } from '../warnings/dto/create-warning.dto';
import type { HazardType } from '../warnings/warning.types';
import { needsSecondOfficer } from '../warnings/release-policy';
import { WarningDraftsService } from '../warnings/warning-drafts.service';
import { defaultAudience } from '../warnings/warning-rules';
import { WarningsService } from '../warnings/warnings.service';
import type {
  CreateHazardReportDto,
  DirectNoticeDto,
  DraftWarningDto,
} from './dto/hazard-report.dto';
import { CITY_DEADLINE_MS, escalateAfterSeconds, gradeOf, mustReachCity } from './hazard-grade';
import { HazardReportNotifier } from './hazard-report.notifier';
import { HazardReportSender } from './hazard-report.sender';
import { type HazardReportSmsHandler, parseHazardReportSms } from './hazard-report-sms';
import {
  type DirectNoticeRecord,
  type HazardReportRow,
  HazardReportsRepository,
} from './hazard-reports.repository';

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
  ) {}

  onApplicationBootstrap(): void {
    escalateAfterSeconds(); // a bad value stops the boot, naming the variable
  }

  /** POST /v1/hazard-reports. */
  async create(principal: Principal, dto: CreateHazardReportDto) {
    const place = await this.placeOf(principal, dto);
    const grade = gradeOf(dto.peopleThreatened);
    const city = mustReachCity(grade);
    const escalateAfterMs = Math.round(escalateAfterSeconds() * 1000);
    const created = await this.repo.db.transaction(async (m) => {
      const row = await this.repo.insert(m, {
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
        grade,
        tokenId: principal.tokenId,
        reporterGrid: principal.role === 'grid_member' ? principal.gridCode : null,
        cityDeadlineMs: city ? CITY_DEADLINE_MS : null,
        escalateAfterMs: city ? escalateAfterMs : null,
      });
      await this.audit.append(
        [
          {
            actor: principal.tokenId,
            action: 'hazard_report.created',
            subjectType: 'hazard_report',
            subjectId: row.id,
            data: {
              grade,
              peopleThreatened: dto.peopleThreatened,
              divisionCode: place.divisionCode,
              hazardPoint: place.hazardPoint,
              mustReachCity: city,
            },
          },
        ],
        m,
      );
      return row;
    });
    await this.notifier.start(created.id).catch((err: unknown) =>
      // The sweep notifies a report left unnotified and rebuilds its deadline timer.
      this.logger.warn({ reportId: created.id, err: String(err) }, 'hazard report notify failed'),
    );
    return this.view(created.id);
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
   * An SMS starting with 险情 (险情1, 险情 确认 <报告号>): acknowledges, for the sender's level, the
   * latest report notice sent to their number (or the one whose number they give).
   */
  async handleSms(e: {
    messageSid: string;
    from: string;
    body: string;
  }): Promise<{ acknowledged: boolean; reply: string }> {
    const sign = '【险情上报】';
    const parsed = parseHazardReportSms(e.body);
    const [notice] = await rows<{ id: string }>(
      this.repo.db,
      `SELECT n.id FROM hazard_report_notices n
         JOIN contact_points c ON c.person_id = n.person_id AND c.kind = 'mobile' AND c.value = $1
        WHERE n.level IN ('county', 'city')
          AND ($2::text IS NULL OR starts_with(n.report_id::text, $2))
        ORDER BY n.created_at DESC LIMIT 1`,
      [e.from, parsed.reportNo ?? null],
    );
    if (!notice) return { acknowledged: false, reply: `${sign}未找到发给您的险情通知。` };
    if (!parsed.ack) return { acknowledged: false, reply: `${sign}确认接报请回复“险情1”。` };
    const found = await this.repo.findNotice(notice.id);
    const report = found && (await this.repo.find(found.reportId));
    if (!found || !report) return { acknowledged: false, reply: `${sign}未找到该险情报告。` };
    const recorded = await this.acknowledgeByNotice(notice.id, 'sms');
    const what = `${report.placeName}${report.grade}险情（报告号${report.id.slice(0, 8)}）`;
    return {
      acknowledged: recorded,
      reply: recorded ? `${sign}已确认接报：${what}。` : `${sign}${what}已确认接报，无需再次回复。`,
    };
  }

  /** Key 1 on a report call: the called duty office acknowledges (once per level). */
  async acknowledgeByKeypress(noticeId: string): Promise<boolean> {
    return this.acknowledgeByNotice(noticeId, 'voice');
  }

  /** The person a notice went to acknowledges for its level (once per level). */
  private async acknowledgeByNotice(noticeId: string, channel: 'voice' | 'sms'): Promise<boolean> {
    const notice = await this.repo.findNotice(noticeId);
    if (!notice || notice.level === 'county_responsible') return false;
    const level = notice.level;
    return this.repo.db.transaction(async (m) => {
      const ack = await this.repo.insertAck(m, {
        reportId: notice.reportId,
        level,
        tokenId: null,
        byName: notice.name ?? '',
        channel,
      });
      if (ack) {
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

  /** POST /v1/hazard-reports/:id/direct-notice: the threatened people were told on site. */
  async directNotice(principal: Principal, id: string, dto: DirectNoticeDto) {
    const report = await this.visible(principal, id);
    const record: DirectNoticeRecord = {
      by: dto.by,
      at: dto.at ? new Date(dto.at).toISOString() : new Date().toISOString(),
      people: dto.people,
      means: dto.means,
      ...(dto.note ? { note: dto.note } : {}),
      recordedBy: principal.name,
      recordedAt: new Date().toISOString(),
    };
    await this.repo.db.transaction(async (m) => {
      await m.query(
        `UPDATE hazard_reports SET direct_notices = direct_notices || $2::jsonb WHERE id = $1`,
        [report.id, JSON.stringify([record])],
      );
      await this.audit.append(
        [
          {
            actor: principal.tokenId,
            action: 'hazard_report.direct_notice',
            subjectType: 'hazard_report',
            subjectId: report.id,
            data: { people: dto.people, means: dto.means },
          },
        ],
        m,
      );
    });
    return this.view(report.id);
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
    const [notices, acks] = await Promise.all([
      opts.brief ? Promise.resolve([]) : this.repo.notices(r.id),
      this.repo.acks(r.id),
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
      })),
      acknowledgements: acks.map((a) => ({
        level: a.level,
        by: a.byName,
        channel: a.channel,
        at: a.at,
      })),
      warningId: r.warningId,
      warningDraftId: r.warningDraftId,
      directNotices: r.directNotices,
    };
  }
}
