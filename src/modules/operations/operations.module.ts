import { Module } from '@nestjs/common';
import { QueueDashboardController } from './queue-dashboard.controller';

/**
 * Operator tools served over HTTP: the queue dashboard's session endpoint (the dashboard itself,
 * bull-board, is Express middleware mounted by createHttpApp: mountQueueDashboard).
 */
@Module({ controllers: [QueueDashboardController] })
export class OperationsModule {}
