/** Injection token of the component told about every effective answer (the escalation engine). */
export const ANSWER_LISTENER = 'ANSWER_LISTENER';

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
