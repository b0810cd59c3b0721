import { ApiProperty } from '@nestjs/swagger';
import { ON_SITE_KINDS } from './on-site.dto';

export class OnSiteAnswerView {
  @ApiProperty({ format: 'uuid' }) deliveryId: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) answerId: string | null;
  @ApiProperty({ enum: ON_SITE_KINDS }) kind: string;
  @ApiProperty({ description: 'false: the same record was posted before' }) recorded: boolean;
  @ApiProperty({ description: 'false: the person had answered already (the first answer stands)' })
  effective: boolean;
  @ApiProperty({ example: 'confirmed', description: "the person's chain state now" })
  state: string;
}
