import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DataSource } from 'typeorm';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import type { Principal } from '../../common/auth/auth.decorators';
import { WarningsService } from '../warnings/warnings.service';
import { csvStages } from './csv';
import { GROUP_BY_ZH, labelOf, WARNING_STATUS_ZH } from './export-values';
import { contactMasker, seesFullContacts } from './mask';
import { CHAIN_COLUMNS, type ExportColumn, GROUP_COLUMNS, nameRoleGroup } from './report-columns';
import { writeXlsx } from './xlsx';
import { ReportsRepository } from './reports.repository';
import type {
  ChainFilters,
  ChainRow,
  ExportOptions,
  GroupBy,
  ReportScope,
  WarningStatus,
} from './reports.types';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** How many people / contact points a JSON report lists at most (the CSV has the rest). */
const LIST_LIMIT = 1000;

interface VisibleWarning {
  id: string;
  status: string;
  createdAt: Date;
}

const ratio = (a: number, b: number) => (b ? Math.round((a / b) * 10000) / 10000 : null);
const num = (v: unknown) =>
  v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10;

/** Chains, timelines and reports, as the principal may see them. */
@Injectable()
export class ReportsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly repo: ReportsRepository,
    private readonly warnings: WarningsService,
  ) {}

  /**
   * The warning if the principal may see it: duty officers within their jurisdiction, auditors
   * everything, grid members only warnings that reached their grid. Otherwise 404.
   */
  async visibleWarning(principal: Principal, id: string): Promise<VisibleWarning> {
    if (!UUID_RE.test(id)) throw AppException.notFound('预警 warning', id);
    if (principal.role === 'grid_member') {
      const [w] = await rows<VisibleWarning>(
        this.db,
        `SELECT w.id, w.status, w.created_at AS "createdAt" FROM warnings w
          WHERE w.id = $1 AND EXISTS (SELECT 1 FROM deliveries d WHERE d.warning_id = w.id AND d.grid_code = $2)`,
        [id, principal.gridCode],
      );
      if (!w) throw AppException.notFound('预警 warning', id);
      return w;
    }
    const w = await this.warnings.findVisible(principal, id);
    return { id: w.id, status: w.status, createdAt: w.createdAt };
  }

  /** Grid members are held to their grid; asking for another grid is refused. */
  private scopeGrid(principal: Principal, filters?: ChainFilters): string | null {
    if (principal.role !== 'grid_member') return null;
    if (filters?.grid && filters.grid !== principal.gridCode) {
      throw new AppException(
        ErrorCode.OutsideJurisdiction,
        `超出网格：${filters.grid}`,
        `Outside your grid: ${filters.grid}`,
        { fields: [{ field: 'grid', message: `outside grid ${principal.gridCode ?? ''}` }] },
      );
    }
    return principal.gridCode;
  }

  private maskChain(principal: Principal) {
    const mask = contactMasker(principal);
    return (r: ChainRow): ChainRow => ({ ...r, contact: mask(r.contact) });
  }

  async chains(
    principal: Principal,
    id: string,
    filters: ChainFilters,
    limit: number,
    offset: number,
  ) {
    await this.visibleWarning(principal, id);
    const grid = this.scopeGrid(principal, filters);
    const page = await this.repo.chains(id, filters, grid, limit, offset);
    return { total: page.total, limit, offset, items: page.items.map(this.maskChain(principal)) };
  }

  /** Every person in the chain as CSV or a workbook, streamed through a database cursor. */
  async exportChains(
    principal: Principal,
    id: string,
    filters: ChainFilters,
    opts: ExportOptions,
    out: Writable,
    before: () => void,
  ): Promise<void> {
    const w = await this.visibleWarning(principal, id);
    const grid = this.scopeGrid(principal, filters);
    const { sql, where } = this.repo.chainQuery(id, filters, grid);
    const zh = opts.lang === 'zh';
    const filterText = [
      filters.states?.length ? `state=${filters.states.join(',')}` : '',
      filters.division ? `division=${filters.division}` : '',
      filters.grid ? `grid=${filters.grid}` : '',
      filters.role ? `role=${filters.role}` : '',
      grid ? `scope grid=${grid}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    before();
    await this.write(
      `${sql} ORDER BY d.created_at, d.id`,
      where.params,
      CHAIN_COLUMNS,
      opts,
      out,
      this.maskChain(principal),
      {
        sheet: zh ? '叫应链' : 'chains',
        title: zh ? `预警 ${id} 叫应链` : `Response chains of warning ${id}`,
        about: [
          [
            zh ? '导出内容' : 'export',
            zh ? '叫应链（每人一行）' : 'response chains, one row per person',
          ],
          [zh ? '预警ID' : 'warning id', id],
          [
            zh ? '预警性质' : 'warning status',
            labelOf(zh ? WARNING_STATUS_ZH : {}, w.status) as string,
          ],
          [zh ? '筛选' : 'filters', filterText || (zh ? '无' : 'none')],
          ...this.aboutCommon(principal, opts),
        ],
      },
    );
  }

  /** One person's chain as a timeline: attempts, answers, escalations in and out, tasks, times. */
  async timeline(principal: Principal, id: string, personId: string) {
    await this.visibleWarning(principal, id);
    if (!UUID_RE.test(personId)) throw AppException.notFound('叫应链 chain', personId);
    const chain = await this.repo.chainOf(id, personId);
    const grid = this.scopeGrid(principal);
    if (!chain || (grid && chain.gridCode !== grid))
      throw AppException.notFound('叫应链 chain', personId);
    const mask = contactMasker(principal);
    const [attempts, answers, escalations, tasks] = await Promise.all([
      this.repo.attempts(chain.deliveryId),
      this.repo.answers(chain.deliveryId),
      this.repo.escalations(chain.deliveryId),
      this.repo.tasks(id, chain.deliveryId, personId),
    ]);
    const maskedAttempts = attempts.map((a) => ({ ...a, address: mask(a.address) }));
    const events: { at: unknown; type: string; [k: string]: unknown }[] = [];
    for (const a of maskedAttempts) {
      const base = { attemptId: a.id, channel: a.channel, address: a.address, seq: a.seq };
      for (const [field, type] of [
        ['queuedAt', 'attempt_queued'],
        ['sentAt', 'attempt_sent'],
        ['deliveredAt', 'attempt_delivered'],
        ['answeredAt', 'attempt_answered'],
        ['completedAt', 'attempt_completed'],
        ['failedAt', 'attempt_failed'],
      ] as const) {
        if (a[field])
          events.push({
            at: a[field],
            type,
            ...base,
            ...(type === 'attempt_failed'
              ? { outcome: a.outcome, errorCode: a.errorCode, errorMessage: a.errorMessage }
              : {}),
            ...(type === 'attempt_completed' ? { outcome: a.outcome, heard: a.heard } : {}),
          });
      }
    }
    for (const an of answers)
      events.push({
        at: an.receivedAt,
        type: 'answer',
        about: an.about,
        channel: an.channel,
        kind: an.kind,
        rawInput: an.rawInput,
        effective: an.effective,
      });
    for (const e of escalations) {
      events.push({
        at: e.createdAt,
        type: e.direction === 'in' ? 'escalated_in' : 'escalated_out',
        reason: e.reason,
        from: e.fromName ?? null,
        to: e.toName ?? null,
      });
      if (e.acknowledgedAt)
        events.push({
          at: e.acknowledgedAt,
          type: 'notice_acknowledged',
          reason: e.reason,
          channel: e.ackChannel,
          ...(e.ackAttemptId ? { attemptId: e.ackAttemptId } : {}),
          from: e.fromName ?? null,
          to: e.toName ?? null,
        });
    }
    for (const t of tasks) {
      events.push({ at: t.createdAt, type: 'task_created', taskId: t.id, taskType: t.type });
      if (t.completedAt)
        events.push({
          at: t.completedAt,
          type: 'task_completed',
          taskId: t.id,
          outcome: t.outcome,
        });
    }
    if (chain.notWokenAt) events.push({ at: chain.notWokenAt, type: 'not_woken' });
    events.sort((x, y) => new Date(x.at as string).getTime() - new Date(y.at as string).getTime());
    return {
      warningId: id,
      person: {
        id: chain.personId,
        externalId: chain.externalId,
        name: chain.name,
        role: chain.role,
        divisionCode: chain.divisionCode,
        gridCode: chain.gridCode,
        contact: mask(chain.contact),
      },
      state: chain.state,
      answerChannel: chain.answerChannel,
      times: {
        firstAttemptAt: chain.firstAttemptAt,
        deliveredAt: chain.deliveredAt,
        heardAt: chain.heardAt,
        confirmedAt: chain.confirmedAt,
        notWokenAt: chain.notWokenAt,
        helpRequestedAt: chain.helpRequestedAt,
        enteredAt: chain.enteredAt,
        firstNoticeAt: chain.firstNoticeAt,
        noticeAcknowledgedAt: chain.noticeAcknowledgedAt,
      },
      responseSeconds: {
        entryToAnswer: chain.entryToAnswerSeconds,
        issueToFirstAttempt: chain.issueToFirstAttemptSeconds,
        issueToDelivery: chain.issueToDeliverySeconds,
        issueToAnswer: chain.issueToAnswerSeconds,
        firstAttemptToAnswer: chain.firstAttemptToAnswerSeconds,
        noticeAck: chain.noticeAckSeconds,
      },
      noticeAckChannel: chain.noticeAckChannel,
      deadline: {
        reachDeadlineSeconds: chain.reachDeadlineSeconds,
        breached: chain.deadlineBreached,
        reachedInTime: chain.reachedInTime,
        stepDeadlineAt: chain.stepDeadlineAt,
        answeredInStepTime: chain.answeredInStepTime,
      },
      notWoken: chain.notWoken,
      escalatedFrom: chain.escalatedFromPersonId
        ? {
            personId: chain.escalatedFromPersonId,
            name: chain.escalatedFromName,
            reason: chain.escalationReason,
          }
        : null,
      attempts: maskedAttempts,
      answers,
      escalations: {
        in: escalations.filter((e) => e.direction === 'in'),
        out: escalations.filter((e) => e.direction === 'out'),
      },
      tasks,
      events,
    };
  }

  async warningScope(principal: Principal, id: string): Promise<ReportScope> {
    await this.visibleWarning(principal, id);
    return { kind: 'warning', warningId: id, gridCode: this.scopeGrid(principal) };
  }

  periodScope(principal: Principal, from: Date, to: Date, status: WarningStatus): ReportScope {
    return {
      kind: 'period',
      from,
      to,
      status,
      jurisdiction: principal.role === 'duty_officer' ? (principal.jurisdiction ?? '\u0000') : null,
      gridCode: this.scopeGrid(principal),
    };
  }

  /** Coverage, confirmation, response times by group, breaches, never reached, dead contacts. */
  async report(principal: Principal, scope: ReportScope, groupBy: GroupBy) {
    const mask = contactMasker(principal);
    const [totals, groups, breaches, neverReached, failed] = await Promise.all([
      this.repo.totals(scope),
      this.repo.groups(scope, groupBy),
      this.repo.people(scope, 'breached', LIST_LIMIT),
      this.repo.people(scope, 'neverReached', LIST_LIMIT),
      this.repo.failedContacts(scope, LIST_LIMIT),
    ]);
    return {
      scope:
        scope.kind === 'warning'
          ? { warningId: scope.warningId, gridCode: scope.gridCode }
          : {
              from: scope.from.toISOString(),
              to: scope.to.toISOString(),
              status: scope.status,
              jurisdiction: scope.jurisdiction,
              gridCode: scope.gridCode,
            },
      totals: {
        warnings: totals.warnings,
        people: totals.people,
        targeted: totals.targeted,
        escalatedTo: totals.escalatedTo,
        reached: totals.reached,
        confirmed: totals.confirmed,
        helpRequests: totals.helpRequests,
        notWoken: totals.notWoken,
        coverage: ratio(totals.reached, totals.targeted),
        confirmationRate: ratio(totals.confirmed, totals.targeted),
        responseSeconds: {
          median: num(totals.medianSeconds),
          p90: num(totals.p90Seconds),
          medianFromFirstAttempt: num(totals.medianFromFirstAttemptSeconds),
          p90FromFirstAttempt: num(totals.p90FromFirstAttemptSeconds),
        },
        deadlineBreaches: totals.deadlineBreaches,
        stepDeadlineMissed: totals.stepDeadlineMissed,
        neverReached: totals.neverReached,
      },
      groupBy,
      groups,
      deadlineBreaches: breaches.map((r) => ({ ...r, contact: mask(r.contact) })),
      neverReached: neverReached.map((r) => ({ ...r, contact: mask(r.contact) })),
      failedContacts: failed.map((r) => ({ ...r, contact: mask(r.contact) })),
    };
  }

  /** The per-group table of a report (one warning, or a period) as CSV or a workbook. */
  async exportReport(
    principal: Principal,
    scope: ReportScope,
    groupBy: GroupBy,
    opts: ExportOptions,
    out: Writable,
    before: () => void,
  ): Promise<void> {
    const { sql, params } = this.repo.groupQuery(scope, groupBy);
    const zh = opts.lang === 'zh';
    const scopeLines: [string, string][] =
      scope.kind === 'warning'
        ? [[zh ? '预警ID' : 'warning id', scope.warningId]]
        : [
            [zh ? '起始时间' : 'from', scope.from.toISOString()],
            [zh ? '截止时间' : 'to', scope.to.toISOString()],
            [
              zh ? '预警性质' : 'warning status',
              labelOf(zh ? WARNING_STATUS_ZH : {}, scope.status) as string,
            ],
          ];
    if (scope.gridCode) scopeLines.push([zh ? '网格' : 'grid', scope.gridCode]);
    before();
    await this.write(sql, params, GROUP_COLUMNS, opts, out, nameRoleGroup(opts.lang), {
      sheet: zh ? '统计' : 'report',
      title:
        scope.kind === 'warning'
          ? zh
            ? `预警 ${scope.warningId} 叫应统计`
            : `Report of warning ${scope.warningId}`
          : zh
            ? '时段叫应统计'
            : 'Report over a period',
      about: [
        [zh ? '导出内容' : 'export', zh ? '叫应统计（每组一行）' : 'report, one row per group'],
        ...scopeLines,
        [zh ? '分组方式' : 'grouped by', labelOf(zh ? GROUP_BY_ZH : {}, groupBy) as string],
        ...this.aboutCommon(principal, opts),
      ],
    });
  }

  private aboutCommon(principal: Principal, opts: ExportOptions): [string, string | Date][] {
    const zh = opts.lang === 'zh';
    const masked = !seesFullContacts(principal);
    return [
      [zh ? '导出时间' : 'exported at', new Date()],
      [zh ? '导出者' : 'exported by', `${principal.name} (${principal.role})`],
      [zh ? '时区' : 'time zone', opts.timeZone],
      [zh ? '联系方式' : 'contacts', masked ? (zh ? '已脱敏' : 'masked') : zh ? '完整' : 'in full'],
    ];
  }

  /** Streams the query's rows into the format asked for; ends `out`. */
  private async write<R>(
    sql: string,
    params: unknown[],
    columns: ExportColumn<R>[],
    opts: ExportOptions,
    out: Writable,
    map: ((row: R) => R) | undefined,
    book: { sheet: string; title: string; about: [string, string | Date][] },
  ): Promise<void> {
    await this.repo.withCursor<R>(sql, params, async (rowStream) => {
      if (opts.format === 'csv') {
        await pipeline(rowStream, ...csvStages(columns, opts.lang, map), out);
        return;
      }
      await writeXlsx(
        out,
        { name: book.sheet, columns, rows: rowStream, map },
        { lang: opts.lang, timeZone: opts.timeZone, title: book.title, about: book.about },
      );
    });
  }
}
