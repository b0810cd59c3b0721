import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { ANSWERS_DB } from '../../database/data-source';
import { DataSource } from 'typeorm';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import type { Principal } from '../../common/auth/auth.decorators';
import { assertWithinJurisdiction } from '../auth/jurisdiction';
import { AnswersService } from '../chain/answers.service';
import type { OnSiteConfirmDto } from './on-site.dto';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Confirmed on site (现场确认): a grid member, for a person of their own grid, or a duty officer,
 * for a person within their jurisdiction, records the person's answer with a reason; kept as an
 * answer on channel `on_site` with the token that recorded it.
 */
@Injectable()
export class OnSiteService {
  constructor(
    @InjectDataSource(ANSWERS_DB) private readonly db: DataSource,
    private readonly answers: AnswersService,
  ) {}

  async confirm(principal: Principal, warningId: string, personId: string, dto: OnSiteConfirmDto) {
    const [warning] = UUID.test(warningId)
      ? await this.db.query(`SELECT id FROM warnings WHERE id = $1`, [warningId])
      : [];
    if (!warning) throw AppException.notFound('预警 warning', warningId);
    const [person] = await this.db.query(
      `SELECT id, division_code, grid_code FROM people WHERE id = $1`,
      [personId],
    );
    if (!person) throw AppException.notFound('人员 person', personId);
    if (
      principal.role === 'grid_member' &&
      (!principal.gridCode || person.grid_code !== principal.gridCode)
    ) {
      throw new AppException(
        ErrorCode.Forbidden,
        '只能为本网格的人员现场确认',
        'Grid members confirm on site only for people of their own grid',
      );
    }
    if (principal.role === 'duty_officer')
      assertWithinJurisdiction(principal, [person.division_code], 'personId');
    const [delivery] = await this.db.query(
      `SELECT id FROM deliveries WHERE warning_id = $1 AND person_id = $2`,
      [warningId, personId],
    );
    if (!delivery) {
      throw new AppException(
        ErrorCode.NotFound,
        '该人员不是此预警的接收人',
        'This person is not a recipient of the warning',
      );
    }
    const kind = dto.kind ?? 'confirm';
    const result = await this.answers.record({
      deliveryId: delivery.id,
      kind,
      channel: 'on_site',
      raw: kind,
      recordedBy: principal.tokenId,
      reason: dto.reason.trim(),
      // The same record posted twice (a double tap, a retry) is one answer.
      dedupeKey: `on_site:${delivery.id}:${principal.tokenId}:${kind}`,
    });
    return {
      deliveryId: result.deliveryId,
      answerId: result.answerId ?? null,
      kind,
      recorded: result.recorded,
      effective: result.effective,
      state: result.state,
    };
  }
}
