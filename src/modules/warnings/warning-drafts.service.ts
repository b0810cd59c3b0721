import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { rows } from '../../database/sql';
import { AuditService } from '../audit/audit.service';
import type { Principal } from '../../common/auth/auth.decorators';
import {
  ChannelReachService,
  PREVIEW_CHANNELS,
  type PreviewChannel,
} from './channel-reach.service';
import { ConsolePreviewService } from './message-preview.service';
import type { CreateWarningDto } from './dto/create-warning.dto';
import { WarningsRepository } from './warnings.repository';
import { WarningsService } from './warnings.service';

interface DraftRow {
  id: string;
  state: 'draft' | 'approving' | 'approved';
  body: CreateWarningDto;
  draftedBy: string;
  drafterName: string;
  jurisdiction: string;
  previewHash: string;
  createdAt: Date;
  approvedBy: string | null;
  approvedAt: Date | null;
  warningId: string | null;
  /** Drafted from an imported CAP alert: its identity, carried by the warning once approved. */
  cap: DraftCapOrigin | null;
}

/** The CAP alert a draft was imported from. */
export interface DraftCapOrigin {
  identifier: string;
  /** ISO time. */
  sent: string;
  sender: string;
}

const DRAFT_COLUMNS = `id, state, body, drafted_by AS "draftedBy", drafter_name AS "drafterName",
  jurisdiction, preview_hash AS "previewHash", created_at AS "createdAt",
  approved_by AS "approvedBy", approved_at AS "approvedAt", warning_id AS "warningId", cap`;

/** Postgres unique_violation. */
const UNIQUE_VIOLATION = '23505';

/** Canonical JSON: keys sorted, so the same content always hashes the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Two-person release (双人复核): a warning the policy names is drafted by one duty officer and
 * issued only when another approves the very preview (recipients and texts) they saw.
 */
@Injectable()
export class WarningDraftsService {
  constructor(
    private readonly warnings: WarningsService,
    private readonly repo: WarningsRepository,
    private readonly preview: ConsolePreviewService,
    private readonly audit: AuditService,
    private readonly reach: ChannelReachService,
  ) {}

  /**
   * The preview an approver sees: recipients per role and per channel, each channel's text (alone
   * and with its count), and the hash of what is approved.
   */
  private async previewOf(principal: Principal, dto: CreateWarningDto) {
    const prepared = await this.warnings.prepare(principal, dto);
    const texts = await this.preview.preview(principal, dto);
    const reach = await this.reach.reach(dto, prepared.status, prepared.audience);
    // The texts follow from the body (their sent time aside); the recipients, per role and per
    // channel, from the directory.
    const hash = createHash('sha256')
      .update(
        canonical({
          body: dto,
          audience: prepared.audience,
          recipients: prepared.recipients,
          byRole: prepared.byRole,
          byChannel: reach.byChannel,
        }),
      )
      .digest('hex');
    const textOf: Record<PreviewChannel, string> = {
      sms: texts.sms.short,
      voice: texts.voice.script,
      email: `${texts.email.subject}\n\n${texts.email.text}`,
      robot: [texts.robot.title, ...texts.robot.markdown].join('\n\n'),
      broadcast: texts.broadcast.text,
    };
    const unitOf: Record<PreviewChannel, 'people' | 'groups' | 'terminals'> = {
      sms: 'people',
      voice: 'people',
      email: 'people',
      robot: 'groups',
      broadcast: 'terminals',
    };
    return {
      previewHash: hash,
      audience: prepared.audience,
      recipients: {
        total: prepared.recipients,
        byRole: prepared.byRole,
        byChannel: reach.byChannel,
        unreachable: reach.unreachable,
      },
      channels: texts,
      perChannel: PREVIEW_CHANNELS.map((channel) => ({
        channel,
        recipients: reach.byChannel[channel],
        unit: unitOf[channel],
        text: textOf[channel],
      })),
    };
  }

  private view(d: DraftRow, preview: Awaited<ReturnType<WarningDraftsService['previewOf']>>) {
    return {
      id: d.id,
      state: d.state,
      draftedBy: { tokenId: d.draftedBy, name: d.drafterName },
      createdAt: d.createdAt,
      warning: d.body,
      preview,
      approvedBy: d.approvedBy,
      approvedAt: d.approvedAt,
      warningId: d.warningId,
      cap: d.cap,
    };
  }

  /** A CAP identifier drafted already (awaiting approval, or approved). */
  async capDrafted(identifier: string): Promise<boolean> {
    const [found] = await this.repo.db.query(
      `SELECT 1 FROM warning_drafts WHERE cap->>'identifier' = $1`,
      [identifier],
    );
    return !!found;
  }

  /** The drafter as the issuer of the warning the draft becomes. */
  private drafter(d: DraftRow): Principal {
    return {
      tokenId: d.draftedBy,
      name: d.drafterName,
      role: 'duty_officer',
      jurisdiction: d.jurisdiction,
      gridCode: null,
    };
  }

  /**
   * POST /v1/warnings under the policy: validated as an issue, stored, nothing sent. `cap`: the
   * CAP alert it was imported from (POST /v1/warnings/cap, a sender that is not trusted); the
   * same identifier is drafted once (409 after).
   */
  async draft(principal: Principal, dto: CreateWarningDto, cap?: DraftCapOrigin) {
    const preview = await this.previewOf(principal, dto);
    const draft = await this.repo.db.transaction(async (m) => {
      let d: DraftRow;
      try {
        [d] = await rows<DraftRow>(
          m,
          `INSERT INTO warning_drafts (body, drafted_by, drafter_name, jurisdiction, preview_hash, cap)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${DRAFT_COLUMNS}`,
          [
            JSON.stringify(dto),
            principal.tokenId,
            principal.name,
            principal.jurisdiction ?? '',
            preview.previewHash,
            cap ? JSON.stringify(cap) : null,
          ],
        );
      } catch (err) {
        if (cap && (err as { code?: string }).code === UNIQUE_VIOLATION)
          throw new AppException(
            ErrorCode.Conflict,
            `该预警已导入：${cap.identifier}`,
            `Alert already imported: ${cap.identifier}`,
          );
        throw err;
      }
      await this.audit.append(
        [
          {
            actor: principal.tokenId,
            action: 'warning.drafted',
            subjectType: 'warning_draft',
            subjectId: d.id,
            data: {
              kind: dto.kind,
              level: dto.level,
              status: dto.status ?? 'actual',
              recipients: preview.recipients.total,
              previewHash: preview.previewHash,
              ...(cap
                ? { source: 'cap', capSender: cap.sender, capIdentifier: cap.identifier }
                : {}),
            },
          },
        ],
        m,
      );
      return d;
    });
    return this.view(draft, preview);
  }

  private async find(principal: Principal, id: string): Promise<DraftRow> {
    const [d] = await rows<DraftRow>(
      this.repo.db,
      `SELECT ${DRAFT_COLUMNS} FROM warning_drafts WHERE id = $1`,
      [id],
    );
    // Another duty officer sees a draft of their own jurisdiction or below it.
    if (
      !d ||
      (principal.role === 'duty_officer' &&
        !d.jurisdiction.startsWith(principal.jurisdiction ?? '\u0000'))
    )
      throw AppException.notFound('预警草稿 warning draft', id);
    return d;
  }

  /** GET /v1/warnings/drafts/:id: the draft with the preview as it is now. */
  async get(principal: Principal, id: string) {
    const d = await this.find(principal, id);
    return this.view(d, await this.previewOf(this.drafter(d), d.body));
  }

  /** POST /v1/warnings/:id/approve by another duty officer, with the preview hash they saw. */
  async approve(principal: Principal, id: string, previewHash: string) {
    const d = await this.find(principal, id);
    if (d.draftedBy === principal.tokenId || d.drafterName === principal.name)
      throw new AppException(
        ErrorCode.Forbidden,
        '起草人不能批准自己的预警：须由另一名值班员批准',
        'The duty officer who drafted this warning cannot approve it: another duty officer must',
        {
          fields: [
            {
              field: 'approver',
              message: `drafted by ${d.drafterName}; another duty officer must approve`,
            },
          ],
        },
      );
    if (d.state !== 'draft')
      throw new AppException(
        ErrorCode.Conflict,
        `该预警草稿已${d.state === 'approved' ? '批准发布' : '在批准中'}`,
        `This draft is already ${d.state}`,
        { warningId: d.warningId },
      );
    const current = await this.previewOf(this.drafter(d), d.body);
    if (current.previewHash !== previewHash || d.previewHash !== previewHash)
      throw new AppException(
        ErrorCode.Conflict,
        '预览已变化：请重新查看草稿后再批准',
        'The draft or its recipients changed since this preview: review it again before approving',
        {
          fields: [{ field: 'previewHash', message: 'stale preview' }],
          previewHash: current.previewHash,
        },
      );
    // One approval only: claim the draft, issue, then record.
    const [claimed] = await rows<{ id: string }>(
      this.repo.db,
      `UPDATE warning_drafts SET state = 'approving' WHERE id = $1 AND state = 'draft' RETURNING id`,
      [id],
    );
    if (!claimed)
      throw new AppException(
        ErrorCode.Conflict,
        '该预警草稿已在批准中',
        'This draft is already being approved',
      );
    let issued: { id: string; nationalId: string; recipients: number };
    try {
      const result = await this.warnings.issue(
        this.drafter(d),
        d.body,
        d.cap
          ? {
              source: 'cap',
              nationalId: d.cap.identifier,
              sentAt: new Date(d.cap.sent),
              capSender: d.cap.sender,
            }
          : {},
      );
      issued = result.body as typeof issued;
    } catch (err) {
      await this.repo.db.query(`UPDATE warning_drafts SET state = 'draft' WHERE id = $1`, [id]);
      throw err;
    }
    await this.repo.db.transaction(async (m) => {
      await m.query(
        `UPDATE warning_drafts SET state = 'approved', approved_by = $2, approved_at = now(), warning_id = $3
          WHERE id = $1`,
        [id, principal.tokenId, issued.id],
      );
      await this.audit.append(
        [
          {
            actor: principal.tokenId,
            action: 'warning.approved',
            subjectType: 'warning_draft',
            subjectId: id,
            warningId: issued.id,
            data: {
              draftedBy: d.draftedBy,
              approvedBy: principal.tokenId,
              previewHash,
              nationalId: issued.nationalId,
              recipients: issued.recipients,
            },
          },
        ],
        m,
      );
    });
    return { ...issued, draftId: id };
  }
}
