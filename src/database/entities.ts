import { ApiToken } from '../modules/auth/api-token.entity';
import { BroadcastTerminal } from '../modules/directory/entities/broadcast-terminal.entity';
import { ContactPoint } from '../modules/directory/entities/contact-point.entity';
import { Division } from '../modules/directory/entities/division.entity';
import { Grid } from '../modules/directory/entities/grid.entity';
import { GroupRobot } from '../modules/directory/entities/group-robot.entity';
import { HazardSite } from '../modules/directory/entities/hazard-site.entity';
import { Person } from '../modules/directory/entities/person.entity';

export const ENTITIES = [
  ApiToken,
  BroadcastTerminal,
  ContactPoint,
  Division,
  Grid,
  GroupRobot,
  HazardSite,
  Person,
];
