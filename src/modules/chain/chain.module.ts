import { Module } from '@nestjs/common';
import { ChainMoves } from './chain-moves.repository';
import { EntryMoves } from './entry-moves.repository';
import { NoticesRepository } from './notices.repository';
import { SendMoves } from './send-moves.repository';
import { StepMoves } from './step-moves.repository';
import { TaskMoves } from './task-moves.repository';

/**
 * The 叫应 chain's own state: its table of states and moves, the moves sending drives (claimed,
 * sent, failed, cancelled, unreachable), the moves providers drive (receipts, calls ended, heard),
 * its steps and edges (first step, advance, not woken, escalation edges), its tasks' ends
 * (completed, closed by the subject's answer), and notices to superiors. It calls no other feature module.
 */
@Module({
  providers: [NoticesRepository, ChainMoves, EntryMoves, SendMoves, StepMoves, TaskMoves],
  exports: [NoticesRepository, ChainMoves, EntryMoves, SendMoves, StepMoves, TaskMoves],
})
export class ChainModule {}
