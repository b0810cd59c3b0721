/* Shapes of what the console reads from the API (only the fields it uses). */

export type Lang = 'zh' | 'en';

export interface ApiErrorField {
  field: string;
  message: string;
}

export interface ApiError {
  code?: string;
  message?: string;
  messageEn?: string;
  fields?: ApiErrorField[];
}

/** The tables of GET /v1/console/labels: code → name, in Chinese and English. */
export type LabelTableName =
  | 'deliveryStates'
  | 'roles'
  | 'channels'
  | 'warningStates'
  | 'warningStatuses'
  | 'kinds'
  | 'levels'
  | 'hazards'
  | 'taskTypes'
  | 'taskOutcomes'
  | 'taskStatuses'
  | 'escalationReasons'
  | 'groupConfirmRules'
  | 'groupBy'
  | 'hazardGrades'
  | 'deadlineStatuses'
  | 'reportLevels'
  | 'contactStatuses'
  | 'contactKinds';
export type ConsoleLabels = Record<LabelTableName, Record<Lang, Record<string, string>>>;

export interface ConsoleGrid {
  code: string;
  name: string | null;
  villageCode?: string;
  village?: string | null;
}

export interface ConsoleMe {
  name: string;
  role: string;
  jurisdiction: string | null;
  grid: ConsoleGrid | null;
  can: string[];
}

/** A person as the summary, the responses and the chains list them. */
export interface PersonRow {
  personId: string;
  name: string;
  role: string;
  state: string;
  divisionCode?: string | null;
  gridCode?: string | null;
  helpRequestedAt?: string | null;
  notWoken?: boolean;
  contact?: string | null;
  entryToAnswer?: number | null;
  entryToAnswerSeconds?: number | null;
  issueToAnswer?: number | null;
}

export interface PlaceRow {
  townshipCode: string;
  township: string | null;
  villageCode: string;
  village: string | null;
  gridCode: string | null;
  grid: string | null;
  total: number;
  confirmed: number;
  reached: number;
  help: number;
  unreachable: number;
}

export interface BroadcastRow {
  villageCode: string;
  village: string | null;
  terminals: number;
  played: number;
  failed: number;
  waiting: number;
}

export interface ResponseSeconds {
  median?: number | null;
  p90?: number | null;
  issueToAnswer?: { median?: number | null; p90?: number | null };
}

/** What a grid's group rule found at its due time (the confirmation rule applied and its outcome). */
export interface GroupRuleRow {
  gridCode: string;
  gridName: string | null;
  rule: { rule: string; count?: number };
  required: number;
  total: number;
  confirmed: number;
  met: boolean;
  alerted: number;
}

/** A frame of the live stream (GET /v1/console/warnings/:id/stream). */
export interface Summary {
  id: string;
  state?: string;
  kind?: string;
  at: string;
  dispatch: { fanoutDone: boolean; deliveries: Record<string, number> };
  responses?: {
    byState?: Record<string, number>;
    coverage?: number | null;
    confirmationRate?: number | null;
    responseSeconds?: ResponseSeconds;
    helpRequests?: PersonRow[];
    notWoken?: PersonRow[];
    groupRules?: GroupRuleRow[];
  };
  table?: PlaceRow[];
  broadcasts?: BroadcastRow[];
}

/** A page of a list route (`items`), or the bare list some routes return. */
export type Listing<T> = T[] | { items?: T[] };

export function itemsOf<T>(body: Listing<T> | null | undefined): T[] {
  if (!body) return [];
  return Array.isArray(body) ? body : (body.items ?? []);
}
