import { Module } from '@nestjs/common';
import { WarningsModule } from '../warnings/warnings.module';
import { RosterChecksController, RostersController } from './rosters.controller';
import { RostersService } from './rosters.service';
import { rosterFileBy, rosterFileByCounties } from './roster-filing';

/** Roster checks (a test warning to the responsible persons) and roster reports. */
@Module({
  imports: [WarningsModule],
  controllers: [RosterChecksController, RostersController],
  providers: [RostersService],
})
export class RostersModule {
  constructor() {
    // A bad ROSTER_FILE_BY or ROSTER_FILE_BY_COUNTY stops the boot with a message naming it.
    rosterFileBy();
    rosterFileByCounties();
  }
}
