import { Module } from '@nestjs/common';
import { ImportCommand } from './import.command';
import { ImportController } from './import.controller';
import { ImportService } from './import.service';

/**
 * Roster imports: `POST /v1/directory/imports/:kind` and the `import` CLI command. Needs the root
 * TypeOrmModule (DataSource) and a global SECRET_BOX provider.
 */
@Module({
  controllers: [ImportController],
  providers: [ImportService, ImportCommand],
  exports: [ImportService],
})
export class ImportModule {}
