import { Module } from '@nestjs/common';
import { AnswerListeners } from './answer-listener';
import { AnswersService } from './answers.service';
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
 * (completed, closed by the subject's answer), notices to superiors, and the answers (叫应) of
 * every channel (AnswersService; the escalation engine registers with AnswerListeners to hear
 * about them). It calls no other feature module.
 */
@Module({
  providers: [
    AnswerListeners,
    AnswersService,
    NoticesRepository,
    ChainMoves,
    EntryMoves,
    SendMoves,
    StepMoves,
    TaskMoves,
  ],
  exports: [
    AnswerListeners,
    AnswersService,
    NoticesRepository,
    ChainMoves,
    EntryMoves,
    SendMoves,
    StepMoves,
    TaskMoves,
  ],
})
export class ChainModule {}
