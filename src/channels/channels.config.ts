import { plainToInstance, Transform } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  type ValidationError,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  value === undefined || value === '' ? undefined : Number(value);
const emptyToUndefined = ({ value }: { value: unknown }) => (value === '' ? undefined : value);
const trimmed = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const t = value.trim();
  return t === '' ? undefined : t;
};
const HTTP_URL = { require_tld: false, require_protocol: true, protocols: ['http', 'https'] };

/**
 * The environment variables of the delivery channels. Every one is optional: a channel whose
 * provider is not configured is simply absent (ChannelRegistry.isConfigured), so a bare
 * development start needs none of them. Validated once at boot by validateChannelsEnv, which
 * names each bad variable and never prints a secret's value.
 */
export class ChannelsEnvironment {
  /** Twilio account SID (AC + 32 characters). With TWILIO_AUTH_TOKEN: enables SMS and voice. */
  @IsOptional()
  @Transform(trimmed)
  @Matches(/^AC[0-9a-zA-Z]{32}$/, { message: 'must be a Twilio account SID (AC + 32 characters)' })
  TWILIO_ACCOUNT_SID?: string;

  /** Twilio auth token (secret): authenticates REST calls and signs Twilio's webhooks to us. */
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @MinLength(8, { message: 'looks too short for a Twilio auth token' })
  TWILIO_AUTH_TOKEN?: string;

  /** Our caller ID / SMS sender, E.164 (+8610…). Required for voice; SMS may use the next one. */
  @IsOptional()
  @Transform(trimmed)
  @Matches(/^\+[1-9]\d{1,14}$/, { message: 'must be an E.164 number such as +8613800000000' })
  TWILIO_FROM_NUMBER?: string;

  /** Messaging Service SID (MG…): when set, SMS go out through it instead of TWILIO_FROM_NUMBER. */
  @IsOptional()
  @Transform(trimmed)
  @Matches(/^MG[0-9a-zA-Z]{32}$/, {
    message: 'must be a Twilio Messaging Service SID (MG + 32 characters)',
  })
  TWILIO_MESSAGING_SERVICE_SID?: string;

  /**
   * Base URL the Twilio SDK sends its REST calls to instead of https://api.twilio.com (paths are
   * kept). Unset: Twilio itself. Set to the sandbox carrier (http://127.0.0.1:PORT) in demos/tests.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  TWILIO_API_BASE_URL?: string;

  /**
   * How long a Twilio REST request may wait for its answer (ms). A send whose answer did not come
   * may still be accepted by Twilio: it is asked about again only after
   * SEND_UNANSWERED_SETTLE_MS, and SEND_CLAIM_LEASE_SECONDS must outlast both together.
   */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  TWILIO_TIMEOUT_MS = 15_000;

  /** Carrier-registered SMS signature, without the 【】 brackets. */
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @MaxLength(16)
  @Matches(/^[^【】[\]]+$/, { message: 'must be the text only, without 【】 or [] brackets' })
  SMS_SIGNATURE = '应急预警';

  /** SMTP server, smtp://user:pass@host:port or smtps://… (secret: may carry a password). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @Matches(/^smtps?:\/\/[^\s]+$/, { message: 'must start with smtp:// or smtps://' })
  SMTP_URL?: string;

  /** Sender of e-mails: an address or `Name <address>`. Required with SMTP_URL. */
  @IsOptional()
  @Transform(trimmed)
  @Matches(/^(?:[^<>]*<\s*)?[^\s@<>]+@[^\s@<>]+(?:\s*>)?$/, {
    message: 'must be an e-mail address or "Name <address>"',
  })
  MAIL_FROM?: string;

  /** Emergency-broadcast platform base URL; tasks go to {BROADCAST_API_URL}/broadcast/v1/tasks. */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  BROADCAST_API_URL?: string;

  /** HMAC-SHA256 key of X-Broadcast-Signature, both directions (secret). */
  @IsOptional()
  @Transform(trimmed)
  @IsString()
  @MinLength(16, { message: 'must be at least 16 characters' })
  BROADCAST_SECRET?: string;

  /**
   * When set, a WeCom robot's stored webhook URL is re-based onto this origin (path and query
   * kept), so the sandbox can stand in for qyapi.weixin.qq.com. Unset: the stored URL as is.
   */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  WECOM_API_BASE_URL?: string;

  /** The same for DingTalk (oapi.dingtalk.com). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  DINGTALK_API_BASE_URL?: string;

  /** The same for Feishu (open.feishu.cn). */
  @IsOptional()
  @Transform(emptyToUndefined)
  @IsUrl(HTTP_URL, { message: 'must be an http(s) URL' })
  FEISHU_API_BASE_URL?: string;

  /** Calls placed per second, all workers together (Twilio's default CPS is 1). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  TWILIO_CALLS_PER_SECOND = 1;

  /** SMS sent per second, all workers together (the account's / sender's MPS). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10000)
  TWILIO_SMS_PER_SECOND = 10;

  /** Messages per minute to one WeCom robot (WeCom: 20, then errcode 45009). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  WECOM_PER_MINUTE = 20;

  /** Messages per minute to one DingTalk robot (DingTalk: 20, then the robot is blocked 10 min). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  DINGTALK_PER_MINUTE = 20;

  /** Messages per minute to one Feishu robot (Feishu: 100/min and 5/s, then code 11232). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10000)
  FEISHU_PER_MINUTE = 100;

  /** Messages per second to one Feishu robot. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  FEISHU_PER_SECOND = 5;

  /** E-mails per second, all workers together. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10000)
  EMAIL_PER_SECOND = 20;

  /** Broadcast tasks per second, all workers together. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  BROADCAST_PER_SECOND = 5;

  /** A provider's circuit opens when this share (%) of its recent calls failed transiently… */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  BREAKER_FAILURE_THRESHOLD_PERCENT = 50;

  /** …and is tried again (half-open) this many milliseconds after opening. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(3_600_000)
  BREAKER_RESET_MS = 30_000;

  /** Calls within the rolling 10 s window before the failure share can open the circuit. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000)
  BREAKER_MIN_REQUESTS = 10;
}

/** Variables whose value is never printed (errors, logs). */
export const SECRET_CHANNEL_VARIABLES: ReadonlySet<keyof ChannelsEnvironment> = new Set([
  'TWILIO_AUTH_TOKEN',
  'SMTP_URL',
  'BROADCAST_SECRET',
]);

export interface TwilioConfig {
  accountSid: string;
  authToken: string;
  /** Unset: Twilio itself. */
  apiBaseUrl?: string;
  fromNumber?: string;
  messagingServiceSid?: string;
  /** TWILIO_TIMEOUT_MS. */
  timeoutMs: number;
}

/** What the channels need, typed and grouped; providers that are not configured are absent. */
export interface ChannelsConfig {
  twilio?: TwilioConfig;
  sms: { signature: string };
  email?: { smtpUrl: string; from: string };
  broadcast?: { apiUrl: string; secret: string };
  robots: { wecomApiBaseUrl?: string; dingtalkApiBaseUrl?: string; feishuApiBaseUrl?: string };
  rateLimits: {
    twilioCallsPerSecond: number;
    twilioSmsPerSecond: number;
    wecomPerMinute: number;
    dingtalkPerMinute: number;
    feishuPerMinute: number;
    feishuPerSecond: number;
    emailPerSecond: number;
    broadcastPerSecond: number;
  };
  breaker: { failureThresholdPercent: number; resetMs: number; minRequests: number };
}

export class ChannelsConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid channel configuration:\n${problems.join('\n')}`);
    this.name = 'ChannelsConfigurationError';
  }
}

function shown(property: string, value: unknown): string {
  if (SECRET_CHANNEL_VARIABLES.has(property as keyof ChannelsEnvironment)) return '(value hidden)';
  return `(got ${JSON.stringify(value)})`;
}

/** One line per bad variable (its first failed rule), with the value as given (secrets hidden). */
function describe(errors: ValidationError[], raw: Record<string, unknown>): string[] {
  return errors.map((e) => {
    const msg = Object.values(e.constraints ?? {}).reverse()[0] ?? 'is invalid';
    return `  - ${e.property}: ${msg.replace(`${e.property} `, '')} ${shown(e.property, raw[e.property])}`;
  });
}

/** Rules between variables: what one needs from another. */
function crossChecks(env: ChannelsEnvironment): string[] {
  const problems: string[] = [];
  const need = (variable: string, why: string) => problems.push(`  - ${variable}: required ${why}`);
  const hasCredentials = Boolean(env.TWILIO_ACCOUNT_SID || env.TWILIO_AUTH_TOKEN);
  if (env.TWILIO_ACCOUNT_SID && !env.TWILIO_AUTH_TOKEN) {
    need('TWILIO_AUTH_TOKEN', 'when TWILIO_ACCOUNT_SID is set');
  }
  if (env.TWILIO_AUTH_TOKEN && !env.TWILIO_ACCOUNT_SID) {
    need('TWILIO_ACCOUNT_SID', 'when TWILIO_AUTH_TOKEN is set');
  }
  if (hasCredentials && !env.TWILIO_FROM_NUMBER && !env.TWILIO_MESSAGING_SERVICE_SID) {
    need(
      'TWILIO_FROM_NUMBER',
      'when Twilio credentials are set (or TWILIO_MESSAGING_SERVICE_SID for SMS only)',
    );
  }
  if (!hasCredentials) {
    for (const v of [
      'TWILIO_FROM_NUMBER',
      'TWILIO_MESSAGING_SERVICE_SID',
      'TWILIO_API_BASE_URL',
    ] as const) {
      if (env[v]) need('TWILIO_ACCOUNT_SID', `when ${v} is set (with TWILIO_AUTH_TOKEN)`);
    }
  }
  if (env.SMTP_URL && !env.MAIL_FROM) need('MAIL_FROM', 'when SMTP_URL is set');
  if (env.MAIL_FROM && !env.SMTP_URL) need('SMTP_URL', 'when MAIL_FROM is set');
  if (env.BROADCAST_API_URL && !env.BROADCAST_SECRET) {
    need('BROADCAST_SECRET', 'when BROADCAST_API_URL is set');
  }
  if (env.BROADCAST_SECRET && !env.BROADCAST_API_URL) {
    need('BROADCAST_API_URL', 'when BROADCAST_SECRET is set');
  }
  if (env.SMTP_URL) {
    try {
      new URL(env.SMTP_URL);
    } catch {
      problems.push(`  - SMTP_URL: is not a valid URL ${shown('SMTP_URL', env.SMTP_URL)}`);
    }
  }
  return problems;
}

/**
 * Validates the raw environment (process.env) for the channels and returns the typed config.
 * Throws a ChannelsConfigurationError listing every bad variable by name (secrets not shown).
 */
export function validateChannelsEnv(raw: Record<string, unknown>): ChannelsConfig {
  const env = plainToInstance(ChannelsEnvironment, raw, {
    exposeDefaultValues: true,
    excludeExtraneousValues: false,
  });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  const problems = [...describe(errors, raw), ...(errors.length ? [] : crossChecks(env))];
  if (problems.length) throw new ChannelsConfigurationError(problems);

  const twilio: TwilioConfig | undefined =
    env.TWILIO_ACCOUNT_SID && env.TWILIO_AUTH_TOKEN
      ? {
          accountSid: env.TWILIO_ACCOUNT_SID,
          authToken: env.TWILIO_AUTH_TOKEN,
          timeoutMs: env.TWILIO_TIMEOUT_MS,
          ...(env.TWILIO_API_BASE_URL ? { apiBaseUrl: env.TWILIO_API_BASE_URL } : {}),
          ...(env.TWILIO_FROM_NUMBER ? { fromNumber: env.TWILIO_FROM_NUMBER } : {}),
          ...(env.TWILIO_MESSAGING_SERVICE_SID
            ? { messagingServiceSid: env.TWILIO_MESSAGING_SERVICE_SID }
            : {}),
        }
      : undefined;
  return {
    ...(twilio ? { twilio } : {}),
    sms: { signature: env.SMS_SIGNATURE },
    ...(env.SMTP_URL && env.MAIL_FROM
      ? { email: { smtpUrl: env.SMTP_URL, from: env.MAIL_FROM } }
      : {}),
    ...(env.BROADCAST_API_URL && env.BROADCAST_SECRET
      ? { broadcast: { apiUrl: env.BROADCAST_API_URL, secret: env.BROADCAST_SECRET } }
      : {}),
    robots: {
      ...(env.WECOM_API_BASE_URL ? { wecomApiBaseUrl: env.WECOM_API_BASE_URL } : {}),
      ...(env.DINGTALK_API_BASE_URL ? { dingtalkApiBaseUrl: env.DINGTALK_API_BASE_URL } : {}),
      ...(env.FEISHU_API_BASE_URL ? { feishuApiBaseUrl: env.FEISHU_API_BASE_URL } : {}),
    },
    rateLimits: {
      twilioCallsPerSecond: env.TWILIO_CALLS_PER_SECOND,
      twilioSmsPerSecond: env.TWILIO_SMS_PER_SECOND,
      wecomPerMinute: env.WECOM_PER_MINUTE,
      dingtalkPerMinute: env.DINGTALK_PER_MINUTE,
      feishuPerMinute: env.FEISHU_PER_MINUTE,
      feishuPerSecond: env.FEISHU_PER_SECOND,
      emailPerSecond: env.EMAIL_PER_SECOND,
      broadcastPerSecond: env.BROADCAST_PER_SECOND,
    },
    breaker: {
      failureThresholdPercent: env.BREAKER_FAILURE_THRESHOLD_PERCENT,
      resetMs: env.BREAKER_RESET_MS,
      minRequests: env.BREAKER_MIN_REQUESTS,
    },
  };
}

/** The config with every secret replaced, for a boot log line. */
export function redactChannelsConfig(config: ChannelsConfig): Record<string, unknown> {
  const hidden = '***';
  return {
    ...config,
    ...(config.twilio ? { twilio: { ...config.twilio, authToken: hidden } } : {}),
    ...(config.email
      ? { email: { ...config.email, smtpUrl: redactUrl(config.email.smtpUrl) } }
      : {}),
    ...(config.broadcast ? { broadcast: { ...config.broadcast, secret: hidden } } : {}),
  };
}

/** `smtp://user:pass@host:25` → `smtp://***@host:25` (user info hidden). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username || u.password) {
      u.username = '***';
      u.password = '';
    }
    return u.toString();
  } catch {
    return '***';
  }
}
