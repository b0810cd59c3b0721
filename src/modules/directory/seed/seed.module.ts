import { Module } from '@nestjs/common';
import { ImportModule } from '../import/import.module';
import { SeedCommand } from './seed.command';
import { SeedService } from './seed.service';

/** The synthetic county generator (`seed` command, demo start). Writes through ImportModule. */
@Module({
  imports: [ImportModule],
  providers: [SeedService, SeedCommand],
  exports: [SeedService],
})
export class SeedModule {}
