import { Directory1763798400000 } from './1763798400000-Directory';
import { WarningsDispatch1763884800000 } from './1763884800000-WarningsDispatch';
import { TargetingIndexes1763900000000 } from './1763900000000-TargetingIndexes';
import { CallResponse1763990000000 } from './1763990000000-CallResponse';
import { AuditLog1764000000000 } from './1764000000000-AuditLog';
import { StuckSends1764100000000 } from './1764100000000-StuckSends';
import { DangerZonePolicies1764200000000 } from './1764200000000-DangerZonePolicies';
import { ChainFollowUps1764300000000 } from './1764300000000-ChainFollowUps';
import { ChainNotices1764400000000 } from './1764400000000-ChainNotices';
import { AuditSealing1764500000000 } from './1764500000000-AuditSealing';
import { HazardReports1764800000000 } from './1764800000000-HazardReports';
import { RosterChecks1764900000000 } from './1764900000000-RosterChecks';
import { AnswerPathIndexes1765000000000 } from './1765000000000-AnswerPathIndexes';
import { ConsoleNotify1765100000000 } from './1765100000000-ConsoleNotify';
import { AttemptAddressIndex1765123000000 } from './1765123000000-AttemptAddressIndex';
import { HazardReportSends1765130000000 } from './1765130000000-HazardReportSends';
import { StepTimers1765200000000 } from './1765200000000-StepTimers';
import { ConsoleWatchGate1765300000000 } from './1765300000000-ConsoleWatchGate';
import { GroupConfirmRules1765400200000 } from './1765400200000-GroupConfirmRules';
import { CapImportDrafts1765410000000 } from './1765410000000-CapImportDrafts';
import { StatusPolls1765450000000 } from './1765450000000-StatusPolls';
import { HazardDirectNotices1765520000000 } from './1765520000000-HazardDirectNotices';
import { HazardReportChains1765530000000 } from './1765530000000-HazardReportChains';
import { SendClaimOwners1765540000000 } from './1765540000000-SendClaimOwners';
import { EdgeSubjectMarks1765600000000 } from './1765600000000-EdgeSubjectMarks';
import { FailedAttemptsIndex1765610000000 } from './1765610000000-FailedAttemptsIndex';
import { SweepIndexes1765620000000 } from './1765620000000-SweepIndexes';
import { AttemptNumbersPerPurpose1765630000000 } from './1765630000000-AttemptNumbersPerPurpose';
import { SendBatches1765640000000 } from './1765640000000-SendBatches';
import { DropAttemptDeliveryIndex1765650000000 } from './1765650000000-DropAttemptDeliveryIndex';
import { UnansweredSends1765660000000 } from './1765660000000-UnansweredSends';
import { UnansweredBody1765670000000 } from './1765670000000-UnansweredBody';

/** Listed explicitly (not globbed) so that ts-jest, ts sources and the build all see the same set. */
export const MIGRATIONS = [
  Directory1763798400000,
  WarningsDispatch1763884800000,
  TargetingIndexes1763900000000,
  CallResponse1763990000000,
  AuditLog1764000000000,
  StuckSends1764100000000,
  DangerZonePolicies1764200000000,
  ChainFollowUps1764300000000,
  ChainNotices1764400000000,
  AuditSealing1764500000000,
  HazardReports1764800000000,
  RosterChecks1764900000000,
  AnswerPathIndexes1765000000000,
  ConsoleNotify1765100000000,
  AttemptAddressIndex1765123000000,
  HazardReportSends1765130000000,
  StepTimers1765200000000,
  ConsoleWatchGate1765300000000,
  GroupConfirmRules1765400200000,
  CapImportDrafts1765410000000,
  StatusPolls1765450000000,
  HazardDirectNotices1765520000000,
  HazardReportChains1765530000000,
  SendClaimOwners1765540000000,
  EdgeSubjectMarks1765600000000,
  FailedAttemptsIndex1765610000000,
  SweepIndexes1765620000000,
  AttemptNumbersPerPurpose1765630000000,
  SendBatches1765640000000,
  DropAttemptDeliveryIndex1765650000000,
  UnansweredSends1765660000000,
  UnansweredBody1765670000000,
];
