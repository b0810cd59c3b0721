import { Module } from '@nestjs/common';
import { ChainMoves } from './chain-moves.repository';
import { NoticesRepository } from './notices.repository';

/**
 * The 叫应 chain's own state: its table of states and moves, the moves providers drive (receipts,
 * calls ended, heard), and notices to superiors. It calls no other feature module.
 */
@Module({
  providers: [NoticesRepository, ChainMoves],
  exports: [NoticesRepository, ChainMoves],
})
export class ChainModule {}
