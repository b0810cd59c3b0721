import { withTimeout } from '../../common/with-timeout';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EntityManager } from 'typeorm';
import { AppException, ErrorCode, type FieldProblem } from '../../common/errors/app.exception';
import { jobPriority } from '../../common/queue/queue-names';
import type { EnvironmentVariables } from '../../config/env.validation';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import { SendMoves } from '../chain/send-moves.repository';
import type { Principal } from '../../common/auth/auth.decorators';
import { assertWithinJurisdiction } from '../auth/jurisdiction';
import type { PersonRole } from '../../common/domain/directory.types';
import { TargetingService } from '../directory/targeting/targeting.service';
import { DispatchQueue } from '../../common/queue/dispatch-queue.service';
import type { CreateWarningDto, WarningBodyDto } from './dto/create-warning.dto';
import { replayIdempotent, requestHash, type StoredResponse, storeIdempotent } from './idempotency';
import { formatNationalId, toBeijingTimestamp } from '../../common/domain/national-id';
import { checkWarningRules, defaultAudience } from './warning-rules';
import type {
  MessageType,
  WarningContent,
  WarningKind,
  WarningStatus,
} from '../../common/domain/warning.types';
import { type VersionRow, type WarningRow, WarningsRepository } from './warnings.repository';

export interface IssueResult {
  id: string;
  nationalId: string;
  version: number;
  msgType: MessageType;
  state: WarningRow['state'];
  recipients: number;
}

interface NewVersion {
  kind: WarningKind;
  status: WarningStatus;
  msgType: MessageType;
  body: WarningBodyDto;
  references: string[];
  version: number;
  issuer: { name: string; divisionCode: string };
  /** CAP import: keep the feed's identifier, sent time and sender. */
  nationalId?: string;
  sentAt?: Date;
  capSender?: string;
}

const UNIQUE_VIOLATION = '23505';
/**
 * How long an issue, update or cancel waits for the queue backend after its rows are committed;
 * past it the request is answered and the recovery sweep enqueues the fan-out.
 */
const ENQUEUE_TIMEOUT_MS = 2000;

/** Issues, updates and cancels warnings; dispatch takes over from the rows written here. */
@Injectable()
export class WarningsService {
  private readonly logger = new Logger(WarningsService.name);

  constructor(
    private readonly repo: WarningsRepository,
    private readonly targeting: TargetingService,
    private readonly queue: DispatchQueue,
    @Inject(ConfigService) private readonly config: ConfigService<EnvironmentVariables, true>,
    private readonly audit: AuditService,
    private readonly sendMoves: SendMoves,
  ) {}

  /** POST /v1/warnings. With an Idempotency-Key, the same request answers the same, once. */
  async issue(
    principal: Principal,
    dto: CreateWarningDto,
    opts: {
      idempotencyKey?: string;
      source?: 'api' | 'cap';
      nationalId?: string;
      sentAt?: Date;
      capSender?: string;
      /** A CAP alert from a trusted upstream authority: released by it, relayed as such. */
      release?: 'trusted_import';
    } = {},
  ): Promise<StoredResponse> {
    const hash = requestHash('POST /v1/warnings', dto);
    if (opts.idempotencyKey) {
      const replay = await replayIdempotent(
        this.repo.db.manager,
        principal.tokenId,
        opts.idempotencyKey,
        hash,
      );
      if (replay) return replay;
    }
    const status = dto.status ?? 'actual';
    const audience = dto.audience?.length
      ? dto.audience
      : defaultAudience(dto.kind, dto.level, status);
    await this.validate(principal, dto.kind, dto, audience, status);
    const recipients = await this.targeting.count(this.targetQuery(dto, audience));
    const issuer = this.issuerOf(principal);

    let result: IssueResult;
    try {
      result = await this.withNationalIdRetry(() =>
        this.repo.db.transaction(async (m) => {
          const id = await this.repo.insertWarning(m, {
            kind: dto.kind,
            status,
            issuerTokenId: principal.tokenId,
            issuerName: issuer.name,
            issuerDivision: issuer.divisionCode,
            source: opts.source ?? 'api',
            expiresAt: new Date(dto.expires),
            recipients,
          });
          const content = await this.writeVersion(m, id, audience, {
            kind: dto.kind,
            status,
            msgType: 'alert',
            body: dto,
            references: [],
            version: 1,
            issuer,
            nationalId: opts.nationalId,
            sentAt: opts.sentAt,
            capSender: opts.capSender,
          });
          const res: IssueResult = {
            id,
            nationalId: content.nationalId,
            version: 1,
            msgType: 'alert',
            state: 'active',
            recipients,
          };
          if (opts.idempotencyKey) {
            await storeIdempotent(m, principal.tokenId, opts.idempotencyKey, hash, {
              statusCode: 201,
              body: res,
            });
          }
          await this.audit.append(
            [
              {
                actor: principal.tokenId,
                action: 'warning.issued',
                subjectType: 'warning',
                subjectId: id,
                warningId: id,
                data: {
                  nationalId: content.nationalId,
                  version: 1,
                  kind: dto.kind,
                  level: dto.level,
                  status,
                  recipients,
                  source: opts.source ?? 'api',
                  ...(opts.capSender ? { capSender: opts.capSender } : {}),
                  ...(opts.release ? { release: opts.release } : {}),
                },
              },
            ],
            m,
          );
          return res;
        }),
      );
    } catch (err) {
      // A concurrent request with the same key won the race: answer as it did.
      if (opts.idempotencyKey && (err as { code?: string }).code === UNIQUE_VIOLATION) {
        const replay = await replayIdempotent(
          this.repo.db.manager,
          principal.tokenId,
          opts.idempotencyKey,
          hash,
        );
        if (replay) return replay;
      }
      throw err;
    }
    await this.afterCommit(result.id, 1, dto.kind, dto.level, new Date(dto.expires));
    this.logger.log(
      { warningId: result.id, nationalId: result.nationalId, recipients },
      'warning issued',
    );
    return { statusCode: 201, body: result };
  }

  /** POST /v1/warnings/:id/updates: a new version that references the earlier ones. */
  async update(
    principal: Principal,
    id: string,
    dto: WarningBodyDto,
    at?: { nationalId?: string; sentAt?: Date; capSender?: string },
  ): Promise<IssueResult> {
    const warning = await this.activeWarning(principal, id);
    const audience = dto.audience?.length
      ? dto.audience
      : defaultAudience(warning.kind, dto.level, warning.status);
    await this.validate(principal, warning.kind, dto, audience, warning.status);
    const recipients = await this.targeting.count(this.targetQuery(dto, audience));
    const result = await this.withNationalIdRetry(() =>
      this.repo.db.transaction(async (m) => {
        const locked = await this.lockActive(m, id);
        const previous = await this.previousIds(m, id);
        const version = locked.currentVersion + 1;
        const content = await this.writeVersion(m, id, audience, {
          kind: locked.kind,
          status: locked.status,
          msgType: 'update',
          body: dto,
          references: previous,
          version,
          issuer: { name: locked.issuerName, divisionCode: locked.issuerDivision },
          nationalId: at?.nationalId,
          sentAt: at?.sentAt,
          capSender: at?.capSender,
        });
        await m.query(
          `UPDATE warnings SET current_version = $2, expires_at = $3, recipients = $4, fanout_done_at = NULL WHERE id = $1`,
          [id, version, new Date(dto.expires), recipients],
        );
        await this.audit.append(
          [
            {
              actor: principal.tokenId,
              action: 'warning.updated',
              subjectType: 'warning',
              subjectId: id,
              warningId: id,
              data: { nationalId: content.nationalId, version, level: dto.level, recipients },
            },
          ],
          m,
        );
        return {
          id,
          nationalId: content.nationalId,
          version,
          msgType: 'update' as const,
          state: 'active' as const,
          recipients,
        };
      }),
    );
    await this.afterCommit(id, result.version, warning.kind, dto.level, new Date(dto.expires));
    return result;
  }

  /** POST /v1/warnings/:id/cancel: 解除. Pending sends stop; everyone already reached is told. */
  async cancel(
    principal: Principal,
    id: string,
    reason?: string,
    at?: { nationalId?: string; sentAt?: Date; capSender?: string },
  ): Promise<IssueResult> {
    const warning = await this.activeWarning(principal, id);
    const result = await this.withNationalIdRetry(() =>
      this.repo.db.transaction(async (m) => {
        const locked = await this.lockActive(m, id);
        const current = (await this.repo.findVersion(id, locked.currentVersion, m)) as VersionRow;
        const previous = await this.previousIds(m, id);
        const version = locked.currentVersion + 1;
        const c = current.content;
        const content = await this.writeVersion(m, id, current.audience, {
          kind: locked.kind,
          status: locked.status,
          msgType: 'cancel',
          body: {
            level: c.level,
            hazard: c.hazard,
            headline: c.headline,
            // A cancel carries its own reason, never the alert's description or instruction
            // (the templates then add the standard after-release line).
            description: reason?.trim() ?? '',
            instruction: '',
            areas: current.areas,
            hazardPoints: current.hazardPoints,
            riskZones: current.riskZones,
            effective: c.effective.toISOString(),
            onset: c.onset?.toISOString(),
            expires: c.expires.toISOString(),
            extent: c.extent,
            impact: c.impact,
            shelter: c.shelter,
          },
          references: previous,
          version,
          issuer: { name: locked.issuerName, divisionCode: locked.issuerDivision },
          nationalId: at?.nationalId,
          sentAt: at?.sentAt,
          capSender: at?.capSender,
        });
        await m.query(
          `UPDATE warnings SET state = 'cancelled', cancelled_at = now(), current_version = $2, fanout_done_at = NULL WHERE id = $1`,
          [id, version],
        );
        // Nothing queued for this warning goes out any more; the senders re-check this too.
        // Counted for the audit event, not listed: a county-wide warning may have many queued.
        const attempts = {
          n: await this.sendMoves.cancelQueuedOfWarning(m, id, 'warning_cancelled'),
        };
        const [groups] = await rows<{ n: number }>(
          m,
          `WITH c AS (
             UPDATE group_sends SET status = 'cancelled'
              WHERE warning_id = $1 AND status = 'queued' AND msg_type <> 'cancel' RETURNING 1)
           SELECT count(*)::int AS n FROM c`,
          [id],
        );
        await this.audit.append(
          [
            {
              actor: principal.tokenId,
              action: 'warning.cancelled',
              subjectType: 'warning',
              subjectId: id,
              warningId: id,
              data: {
                nationalId: content.nationalId,
                version,
                withReason: !!reason,
                attemptsCancelled: attempts.n,
                groupSendsCancelled: groups.n,
              },
            },
          ],
          m,
        );
        return {
          id,
          nationalId: content.nationalId,
          version,
          msgType: 'cancel' as const,
          state: 'cancelled' as const,
          recipients: locked.recipients,
        };
      }),
    );
    try {
      await withTimeout(
        this.queue.enqueueFanout(
          { warningId: id, version: result.version },
          jobPriority(warning.kind, 'red'),
        ),
        ENQUEUE_TIMEOUT_MS,
        'enqueueing the release',
      );
    } catch (err) {
      this.logger.error({ err, warningId: id }, 'enqueue failed; the recovery sweep will retry');
    }
    return result;
  }

  /** The warning as a duty officer or auditor sees it. */
  async findVisible(principal: Principal, id: string): Promise<WarningRow> {
    const warning = await this.repo.findWarning(id);
    if (!warning) throw AppException.notFound('预警 warning', id);
    if (
      principal.role === 'duty_officer' &&
      !warning.issuerDivision.startsWith(principal.jurisdiction ?? '\u0000')
    ) {
      throw AppException.notFound('预警 warning', id);
    }
    return warning;
  }

  private async activeWarning(principal: Principal, id: string): Promise<WarningRow> {
    const warning = await this.findVisible(principal, id);
    this.assertActive(warning);
    return warning;
  }

  private async lockActive(m: EntityManager, id: string): Promise<WarningRow> {
    const locked = (await this.repo.lockWarning(m, id)) as WarningRow;
    this.assertActive(locked);
    return locked;
  }

  private assertActive(w: WarningRow): void {
    if (w.state !== 'active') {
      throw new AppException(
        ErrorCode.Conflict,
        w.state === 'cancelled' ? '预警已解除，不能再更新' : '预警已过期，不能再更新',
        `Warning is ${w.state}; it can no longer be updated or cancelled`,
      );
    }
  }

  private async previousIds(m: EntityManager, id: string): Promise<string[]> {
    const rows = await m.query(
      `SELECT national_id FROM warning_versions WHERE warning_id = $1 ORDER BY version`,
      [id],
    );
    return rows.map((r: { national_id: string }) => r.national_id);
  }

  /**
   * What POST /v1/warnings would check and reach, without creating anything: the status, the
   * audience and the recipients per role (a two-person release drafts from it).
   */
  async prepare(
    principal: Principal,
    dto: CreateWarningDto,
  ): Promise<{
    status: WarningStatus;
    audience: PersonRole[];
    recipients: number;
    byRole: Record<string, number>;
  }> {
    const status = dto.status ?? 'actual';
    const audience = dto.audience?.length
      ? dto.audience
      : defaultAudience(dto.kind, dto.level, status);
    await this.validate(principal, dto.kind, dto, audience, status);
    const byRole = await this.targeting.countByRole(this.targetQuery(dto, audience));
    const recipients = Object.values(byRole).reduce((a, b) => a + b, 0);
    return { status, audience, recipients, byRole };
  }

  private targetQuery(body: WarningBodyDto, audience: PersonRole[]) {
    return {
      areas: body.areas ?? [],
      hazardPoints: body.hazardPoints ?? [],
      riskZones: body.riskZones ?? [],
      roles: audience,
    };
  }

  /** Domain rules, unknown targets and jurisdiction: a 400 (or 403) that names the field. */
  private async validate(
    principal: Principal,
    kind: WarningKind,
    body: WarningBodyDto,
    audience: PersonRole[],
    status: WarningStatus,
  ): Promise<void> {
    const problems: FieldProblem[] = checkWarningRules(kind, body, new Date(), status);
    const unknown = await this.targeting.findUnknownTargets(this.targetQuery(body, audience));
    for (const field of ['areas', 'hazardPoints', 'riskZones'] as const) {
      if (unknown[field].length)
        problems.push({
          field,
          message:
            field === 'areas'
              ? `unknown divisions or grids: ${unknown[field].join(', ')}`
              : `unknown codes: ${unknown[field].join(', ')}`,
        });
    }
    if (problems.length) throw AppException.validation(problems);
    if (principal.role === 'duty_officer') {
      assertWithinJurisdiction(principal, body.areas ?? [], 'areas');
      const siteDivisions = await this.repo.siteDivisions([
        ...(body.hazardPoints ?? []),
        ...(body.riskZones ?? []),
      ]);
      assertWithinJurisdiction(principal, siteDivisions, 'hazardPoints');
    }
  }

  private issuerOf(principal: Principal): { name: string; divisionCode: string } {
    return { name: principal.name, divisionCode: principal.jurisdiction ?? '' };
  }

  /** The issuing unit's 6-digit area code: a longer jurisdiction is cut, a shorter one padded. */
  private areaCode(divisionCode: string): string {
    return divisionCode.slice(0, 6).padEnd(6, '0');
  }

  private async writeVersion(
    m: EntityManager,
    warningId: string,
    audience: PersonRole[],
    v: NewVersion,
  ): Promise<WarningContent> {
    const sentAt = v.sentAt ?? new Date(Math.floor(Date.now() / 1000) * 1000);
    const areaCode = this.areaCode(v.issuer.divisionCode);
    const agencyCode = this.config.get('NATIONAL_ID_AGENCY_CODE', { infer: true });
    let nationalId = v.nationalId;
    if (!nationalId) {
      const prefix = `${areaCode}${agencyCode}00000_${toBeijingTimestamp(sentAt)}_`;
      const sequence = await this.repo.nextNationalSequence(m, prefix);
      if (sequence > 9) {
        throw new AppException(
          ErrorCode.Conflict,
          '同一秒内发布的预警过多，请稍后重试',
          'Too many warnings in one second; retry',
          {},
        );
      }
      nationalId = formatNationalId({ areaCode, agencyCode, sentAt, sequence });
    }
    const places = await this.repo.placeNames(
      v.body.areas ?? [],
      v.body.hazardPoints ?? [],
      v.body.riskZones ?? [],
    );
    const content: WarningContent = {
      id: warningId,
      nationalId,
      version: v.version,
      msgType: v.msgType,
      references: v.references,
      kind: v.kind,
      level: v.body.level,
      hazard: v.body.hazard,
      status: v.status,
      headline: v.body.headline,
      description: v.body.description,
      instruction: v.body.instruction,
      ...places,
      extent: v.body.extent,
      impact: v.body.impact
        ? { people: v.body.impact.people, households: v.body.impact.households }
        : undefined,
      shelter: v.body.shelter,
      sentAt,
      effective: new Date(v.body.effective),
      onset: v.body.onset ? new Date(v.body.onset) : undefined,
      expires: new Date(v.body.expires),
      issuer: { name: v.issuer.name, divisionCode: v.issuer.divisionCode, agencyCode },
      ...(v.capSender ? { capSender: v.capSender } : {}),
    };
    await this.repo.insertVersion(m, warningId, content, audience);
    return content;
  }

  /** Two issues in the same second may pick the same sequence digit: the loser retries. */
  private async withNationalIdRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (err) {
        const e = err as {
          code?: string;
          constraint?: string;
          driverError?: { constraint?: string };
        };
        const constraint = e.constraint ?? e.driverError?.constraint;
        if (
          i < 9 &&
          e.code === UNIQUE_VIOLATION &&
          constraint === 'warning_versions_national_id_key'
        )
          continue;
        throw err;
      }
    }
  }

  /** Rows are committed; now the jobs. If this fails, the recovery sweep enqueues them later. */
  private async afterCommit(
    id: string,
    version: number,
    kind: WarningKind,
    level: WarningContent['level'],
    expires: Date,
  ) {
    // The queue backend may be down: the answer does not wait for it (the sweep enqueues later).
    try {
      await withTimeout(
        (async () => {
          await this.queue.enqueueFanout({ warningId: id, version }, jobPriority(kind, level));
          await this.queue.scheduleExpiry(id, expires);
        })(),
        ENQUEUE_TIMEOUT_MS,
        'enqueueing the fan-out',
      );
    } catch (err) {
      this.logger.error({ err, warningId: id }, 'enqueue failed; the recovery sweep will retry');
    }
  }
}
