import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** Response shapes of the audit routes (OpenAPI only). */

export class FirstBrokenView {
  @ApiProperty({ description: 'the first event (or block) that does not hold' }) id: string;
  @ApiProperty({
    enum: [
      'hash_mismatch',
      'prev_mismatch',
      'missing',
      'unexpected',
      'seal_mismatch',
      'block_mismatch',
      'checkpoint_mismatch',
      'checkpoint_missing',
    ],
  })
  reason: string;
  @ApiPropertyOptional() block?: number;
  @ApiPropertyOptional({ description: 'an event missing from the sealed log' }) missingId?: string;
}

export class SealedView {
  @ApiProperty() blocks: number;
  @ApiProperty() events: number;
  @ApiProperty({ type: String, nullable: true }) lastId: string | null;
}

export class UnsealedView {
  @ApiProperty() count: number;
  @ApiProperty({ type: String, nullable: true }) oldestId: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) oldestAt: Date | null;
  @ApiProperty({ description: 'seconds' }) oldestAgeS: number;
}

export class CheckpointView {
  @ApiProperty() block: number;
  @ApiProperty() lastId: string;
  @ApiProperty() size: number;
  @ApiProperty({ description: 'hash of the last block (64 hex digits)' }) head: string;
  @ApiProperty({ format: 'date-time' }) at: string;
  @ApiProperty() keyId: string;
  @ApiProperty({ description: 'HMAC-SHA256 of the checkpoint' }) signature: string;
}

export class PublishedCheckView {
  @ApiProperty() block: number;
  @ApiProperty() head: string;
  @ApiProperty() ok: boolean;
}

export class AuditVerifyView {
  @ApiProperty({ description: 'every block, event and checkpoint holds' }) ok: boolean;
  @ApiProperty({ description: 'events checked' }) checked: number;
  @ApiPropertyOptional({ type: FirstBrokenView }) firstBroken?: FirstBrokenView;
  @ApiProperty({ type: SealedView }) sealed: SealedView;
  @ApiProperty({ type: UnsealedView }) unsealed: UnsealedView;
  @ApiProperty({ type: CheckpointView, nullable: true }) checkpoint: CheckpointView | null;
  @ApiPropertyOptional({ type: PublishedCheckView }) published?: PublishedCheckView;
}

export class AuditEventView {
  @ApiProperty({ example: '1042' }) id: string;
  @ApiProperty({ type: String, format: 'date-time' }) at: Date;
  @ApiProperty({ description: 'token id or system' }) actor: string;
  @ApiProperty({ example: 'warning.issued' }) action: string;
  @ApiProperty({ example: 'warning' }) subjectType: string;
  @ApiProperty() subjectId: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) warningId: string | null;
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'ids, codes and counts; never phone numbers, addresses or what people wrote',
  })
  data: Record<string, unknown>;
  @ApiProperty({ type: String, nullable: true, description: 'legacy chain only' })
  prevHash: string | null;
  @ApiProperty() hash: string;
  @ApiProperty({ type: Number, nullable: true, description: 'null: not sealed yet' })
  block: number | null;
}
