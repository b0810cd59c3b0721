import { Module } from '@nestjs/common';
import { DirectoryController } from './directory.controller';
import { ImportModule } from './import/import.module';
import { SeedModule } from './seed/seed.module';
import { TargetingModule } from './targeting/targeting.module';

/** Places, people, contacts, targets, robots and loudspeakers: read API, imports, seed, targeting. */
@Module({
  imports: [ImportModule, SeedModule, TargetingModule],
  controllers: [DirectoryController],
  exports: [ImportModule, SeedModule, TargetingModule],
})
export class DirectoryModule {}

/** The directory's operator commands (import, seed) for the CLI. */
@Module({
  imports: [ImportModule, SeedModule],
})
export class DirectoryCliModule {}
