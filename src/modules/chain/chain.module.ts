import { Module } from '@nestjs/common';
import { NoticesRepository } from './notices.repository';

/** The 叫应 chain's own state: its table of states and moves, and notices to superiors. */
@Module({
  providers: [NoticesRepository],
  exports: [NoticesRepository],
})
export class ChainModule {}
