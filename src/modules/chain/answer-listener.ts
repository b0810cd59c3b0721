import { Injectable } from '@nestjs/common';

/** An answer that changed the person's state: confirmed receipt, or asked for help. */
export interface EffectiveAnswer {
  deliveryId: string;
  warningId: string;
  kind: 'confirm' | 'help';
}

/**
 * Told once per effective answer, after it is committed (never for a duplicate, an ambiguous
 * reply or a later answer that changed nothing). It stops the person's pending steps and, for
 * help, alerts their supervisor and the duty officer. Errors are logged, not retried: the answer
 * stays recorded, so a listener that must not miss one also sweeps answered deliveries itself.
 */
export interface AnswerListener {
  onAnswer(e: EffectiveAnswer): Promise<void>;
}

/**
 * Who is told about effective answers. The chain calls no feature module: the escalation engine
 * (which lives above the chain, with dispatch) registers itself here when it is created, so the
 * dependency points one way (dispatch -> chain) and no module has to provide a token upwards.
 */
@Injectable()
export class AnswerListeners {
  private readonly listeners: AnswerListener[] = [];

  register(listener: AnswerListener): void {
    if (!this.listeners.includes(listener)) this.listeners.push(listener);
  }

  get all(): readonly AnswerListener[] {
    return this.listeners;
  }
}
