import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { EnvironmentVariables } from '../../config/env.validation';
import { renderMessage } from '../../templates';
import type { Principal } from '../../common/auth/auth.decorators';
import type { CreateWarningDto } from './dto/create-warning.dto';
import type { WarningContent } from '../../common/domain/warning.types';
import { WarningsRepository } from './warnings.repository';

/** Renders a draft warning on each channel without creating anything. */
@Injectable()
export class ConsolePreviewService {
  constructor(
    private readonly repo: WarningsRepository,
    @Inject(ConfigService) private readonly config: ConfigService<EnvironmentVariables, true>,
  ) {}

  async preview(principal: Principal, dto: CreateWarningDto) {
    const places = await this.repo.placeNames(
      dto.areas ?? [],
      dto.hazardPoints ?? [],
      dto.riskZones ?? [],
    );
    const agencyCode = this.config.get('NATIONAL_ID_AGENCY_CODE', { infer: true }) as string;
    const content: WarningContent = {
      id: '00000000-0000-0000-0000-000000000000',
      nationalId: '(预览 preview)',
      version: 1,
      msgType: 'alert',
      references: [],
      kind: dto.kind,
      level: dto.level,
      hazard: dto.hazard,
      status: dto.status ?? 'actual',
      headline: dto.headline,
      description: dto.description,
      instruction: dto.instruction,
      ...places,
      extent: dto.extent,
      impact: dto.impact
        ? { people: dto.impact.people, households: dto.impact.households }
        : undefined,
      shelter: dto.shelter,
      sentAt: new Date(),
      effective: new Date(dto.effective),
      onset: dto.onset ? new Date(dto.onset) : undefined,
      expires: new Date(dto.expires),
      issuer: { name: principal.name, divisionCode: principal.jurisdiction ?? '', agencyCode },
    };
    const signature =
      (this.config.get('SMS_SIGNATURE' as never) as string | undefined) ?? '应急预警';
    const base = {
      warning: content,
      signature,
      recipient: { name: '张三', role: '网格员', confirmUrl: 'https://example.invalid/c/preview' },
    };
    const sms = renderMessage('sms', base);
    const voice = renderMessage('voice', base);
    const robot = renderMessage('robot', {
      ...base,
      platform: 'wecom',
      mentions: [{ name: '张三', confirmUrl: 'https://example.invalid/c/preview' }],
    });
    const email = renderMessage('email', base);
    const broadcast = renderMessage('broadcast', base);
    return {
      sms: {
        short: sms.short,
        long: sms.long,
        shortSegments: sms.shortSegments,
        longSegments: sms.longSegments,
      },
      voice: { script: voice.script },
      robot: { title: robot.title, markdown: robot.messages.map((m) => m.markdown) },
      email: { subject: email.subject, text: email.text },
      broadcast: { text: broadcast.text, repeat: broadcast.repeat },
    };
  }
}
