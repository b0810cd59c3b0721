import { Injectable } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import type { Principal } from '../../common/auth/auth.decorators';
import { CapValidationError } from './cap/cap.types';
import { capCancelReason, parseCapXml, primaryInfo } from './cap/cap-parse';
import { CreateWarningDto, type WarningBodyDto } from './dto/create-warning.dto';
import { capTrustedSenders, needsSecondOfficer } from './release-policy';
import { defaultAudience } from './warning-rules';
import { WarningDraftsService } from './warning-drafts.service';
import { WarningsRepository } from './warnings.repository';
import { type IssueResult, WarningsService } from './warnings.service';

/**
 * POST /v1/warnings/cap: a CAP 1.2 alert as a meteorological bureau feed sends it. Alert issues a
 * warning; Update and Cancel find the warning by the identifiers they reference. The feed's own
 * identifier and sent time are kept, so the same alert posted twice is refused as a duplicate.
 *
 * Two-person release: an alert whose CAP `sender` is a trusted upstream authority
 * (CAP_TRUSTED_SENDERS, e.g. the provincial meteorological observatory) was released by that
 * authority already, under its own rules: it is relayed at once and recorded as released by
 * import from that sender. An alert from any other sender that falls under TWO_PERSON_RELEASE is
 * drafted like a manual one (202, with the preview) and issued, with the alert's identity, when
 * another duty officer approves it.
 */
/** A CAP alert drafted for approval (two-person release). */
export type CapDraft = Awaited<ReturnType<WarningDraftsService['draft']>>;

@Injectable()
export class CapImportService {
  constructor(
    private readonly warnings: WarningsService,
    private readonly repo: WarningsRepository,
    private readonly drafts: WarningDraftsService,
  ) {
    // A bad CAP_TRUSTED_SENDERS stops the boot with a message naming it.
    capTrustedSenders();
  }

  async import(
    principal: Principal,
    xml: string,
  ): Promise<{ statusCode: number; body: IssueResult | CapDraft }> {
    let alert;
    try {
      alert = parseCapXml(xml);
    } catch (err) {
      if (err instanceof CapValidationError) {
        throw AppException.validation(
          err.issues.map((i) => ({ field: i.element, message: i.message })),
        );
      }
      throw err;
    }
    if (
      (await this.repo.findByNationalId(alert.identifier)) ||
      (alert.msgType === 'alert' && (await this.drafts.capDrafted(alert.identifier)))
    ) {
      throw new AppException(
        ErrorCode.Conflict,
        `该预警已导入：${alert.identifier}`,
        `Alert already imported: ${alert.identifier}`,
      );
    }
    const info = primaryInfo(alert);
    if (!info) throw AppException.validation([{ field: 'alert/info', message: 'is missing' }]);
    const body: WarningBodyDto = {
      level: info.level,
      hazard: info.hazard,
      headline: info.headline ?? '',
      description: info.description ?? '',
      instruction: info.instruction ?? '',
      areas: info.divisions.map((d) => d.code),
      hazardPoints: info.hazardPoints.map((d) => d.code),
      riskZones: info.riskZones.map((d) => d.code),
      effective: (info.effective ?? alert.sent).toISOString(),
      onset: info.onset?.toISOString(),
      expires: info.expires?.toISOString() ?? '',
      extent: info.extent,
      impact: info.impact,
      shelter: info.shelter,
    };
    const at = { nationalId: alert.identifier, sentAt: alert.sent, capSender: alert.sender };

    if (alert.msgType === 'alert') {
      const dto = plainToInstance(CreateWarningDto, {
        ...body,
        kind: info.kind,
        status: alert.status,
      });
      await this.check(dto);
      const trusted = capTrustedSenders().has(alert.sender);
      const status = dto.status ?? 'actual';
      const audience = dto.audience?.length
        ? dto.audience
        : defaultAudience(dto.kind, dto.level, status);
      if (!trusted && needsSecondOfficer({ level: dto.level, status, audience })) {
        const draft = await this.drafts.draft(principal, dto, {
          identifier: alert.identifier,
          sent: alert.sent.toISOString(),
          sender: alert.sender,
        });
        return { statusCode: 202, body: draft };
      }
      const res = await this.warnings.issue(principal, dto, {
        source: 'cap',
        ...at,
        ...(trusted ? { release: 'trusted_import' as const } : {}),
      });
      return res as { statusCode: number; body: IssueResult };
    }
    const referenced = await this.referencedWarning(alert.referenceIds);
    if (alert.msgType === 'cancel') {
      return {
        statusCode: 200,
        // The Cancel's own reason, never the cancelled alert's texts.
        body: await this.warnings.cancel(principal, referenced, capCancelReason(alert), at),
      };
    }
    const dto = plainToInstance(CreateWarningDto, {
      ...body,
      kind: info.kind,
      status: alert.status,
    });
    await this.check(dto);
    const { kind: _k, status: _s, ...update } = dto;
    return { statusCode: 200, body: await this.warnings.update(principal, referenced, update, at) };
  }

  private async referencedWarning(ids: string[]): Promise<string> {
    for (const id of [...ids].reverse()) {
      const warningId = await this.repo.findByNationalId(id);
      if (warningId) return warningId;
    }
    throw AppException.validation([
      {
        field: 'alert/references',
        message: ids.length ? `no warning with identifier ${ids.join(' or ')}` : 'is missing',
      },
    ]);
  }

  private async check(dto: CreateWarningDto): Promise<void> {
    const errors = await validate(dto);
    if (errors.length) {
      throw AppException.validation(
        errors.flatMap((e) =>
          Object.values(e.constraints ?? { invalid: 'is invalid' }).map((message) => ({
            field: e.property,
            message,
          })),
        ),
      );
    }
  }
}
