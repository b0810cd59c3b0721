import { Module } from '@nestjs/common';
import { DispatchQueue } from './dispatch-queue.service';

/** Enqueueing only (the API needs it); the workers live in DispatchWorkersModule. */
@Module({ providers: [DispatchQueue], exports: [DispatchQueue] })
export class DispatchQueueModule {}
