import { Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiTokenErrors } from '../../common/http/api-docs';
import { CallAgainView } from '../warnings/warnings.responses';
import { UuidPipe } from '../../common/http/params';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AppException, ErrorCode } from '../../common/errors/app.exception';
import { CurrentPrincipal, type Principal, Roles } from '../../common/auth/auth.decorators';
import { EscalationService } from './escalation.service';
import { WarningsService } from '../warnings/warnings.service';

/** Duty officer actions on one person's chain. */
@ApiTags('warnings')
@ApiBearerAuth()
@Controller('v1/warnings')
export class CallAgainController {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly warnings: WarningsService,
    private readonly escalation: EscalationService,
  ) {}

  /** Call the person again now (再次呼叫); their chain goes on as before. */
  @Post(':id/people/:personId/call')
  @HttpCode(202)
  @Roles('duty_officer')
  @ApiOperation({
    summary: 'Call the person again now (再次呼叫)',
    description:
      'A voice call is queued at once; the chain goes on as before. 409 when the warning has ' +
      'ended, the person answered already or has no number to call.',
  })
  @ApiAcceptedResponse({ type: CallAgainView })
  @ApiTokenErrors(400, 404, 409)
  async callAgain(
    @Param('id', UuidPipe) id: string,
    @Param('personId', UuidPipe) personId: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    const warning = await this.warnings.findVisible(principal, id);
    if (warning.state !== 'active') {
      throw new AppException(
        ErrorCode.Conflict,
        `无法再次呼叫：预警已${warning.state === 'cancelled' ? '解除' : '过期'}`,
        `Cannot call again: the warning is ${warning.state}`,
      );
    }
    const [d] = await this.db.query(
      `SELECT id, state FROM deliveries WHERE warning_id = $1 AND person_id = $2`,
      [id, personId],
    );
    if (!d) throw AppException.notFound('收件人 recipient', personId);
    if (['confirmed', 'declined'].includes(d.state)) {
      // The sender would not place it: an answered chain is not called again.
      throw new AppException(
        ErrorCode.Conflict,
        '此人已应答，无需再次呼叫',
        `Already answered (${d.state}): not called again`,
      );
    }
    const attemptId = await this.escalation.callAgain(d.id);
    if (!attemptId) {
      throw new AppException(
        ErrorCode.Conflict,
        '无法再次呼叫：预警已结束或此人没有可拨打的号码',
        'Cannot call again: the warning has ended or the person has no number to call',
      );
    }
    return { attemptId };
  }
}
