import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

export const DIVISION_CODE = /^\d{2}(\d{2}(\d{2}(\d{3}(\d{3})?)?)?)?$/;

export class CreateRosterCheckDto {
  @ApiProperty({
    example: '513221',
    description:
      'the division (any level) whose responsible persons are tested; within your jurisdiction',
  })
  @IsString()
  @Matches(DIVISION_CODE, {
    message: 'jurisdiction must be a division code of 2, 4, 6, 9 or 12 digits',
  })
  jurisdiction: string;
}
