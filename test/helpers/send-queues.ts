import { ALL_QUEUES } from '../../src/common/queue/queue-names';

/**
 * Every send queue of the gateway (SMS and its batches, calls, e-mail, robots, loudspeakers): a
 * suite that must hold every send pauses them all.
 */
export const SEND_QUEUES = ALL_QUEUES.filter((name) => name.startsWith('send-'));
