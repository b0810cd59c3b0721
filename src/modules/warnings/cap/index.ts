import { join } from 'path';

export * from './cap.types';
export {
  toCapXml,
  toCapDateTime,
  capEvent,
  CapExportError,
  CAP_SEVERITY_OF,
  CAP_STATUS_OF,
  CAP_MSG_TYPE_OF,
  relayNote,
} from './cap-export';
export {
  parseCapXml,
  parseCapDateTime,
  primaryInfo,
  capAlertToWarningContent,
  capCancelReason,
} from './cap-parse';
export type { CapExportOptions } from './cap-export';
export type { CapParseOptions } from './cap-parse';

/**
 * The official OASIS CAP 1.2 schema shipped beside this module. Note: `tsc` does not copy .xsd
 * files into dist/; a build that needs it at runtime must copy it (e.g. nest-cli `assets`).
 */
export const CAP_XSD_PATH = join(__dirname, 'CAP-v1.2.xsd');
