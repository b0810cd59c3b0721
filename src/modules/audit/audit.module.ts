import { Global, Module } from '@nestjs/common';
import { AuditController } from './audit.controller';
import { AuditSealer } from './audit.sealer';
import { AuditService } from './audit.service';

/** Global so that every service that changes state can inject AuditService without imports. */
@Global()
@Module({
  controllers: [AuditController],
  providers: [AuditService, AuditSealer],
  exports: [AuditService],
})
export class AuditModule {}
