import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { SecretBox } from '../common/crypto/secret-box';
import type { RobotPlatform } from '../common/domain/directory.types';
import { SandboxCarrier } from '../sandbox/sandbox-carrier';

/** Stands in for every provider when none is configured: a demo, or the tests. */
export function sandboxWanted(env: NodeJS.ProcessEnv): boolean {
  const mode = env.SANDBOX ?? 'auto';
  if (mode === 'off') return false;
  if (mode === 'on') return true;
  return !env.TWILIO_API_BASE_URL && !env.TWILIO_ACCOUNT_SID;
}

export interface RunningSandbox {
  carrier: SandboxCarrier;
  /** The provider settings that point the gateway at the sandbox. */
  env: Record<string, string>;
  /** Re-reads the directory's robots so the sandbox can check their signatures. */
  refreshRobots(): Promise<void>;
  stop(): Promise<void>;
}

/** The token that names a robot in its webhook URL (WeCom key, DingTalk access_token, Feishu hook). */
export function robotToken(platform: RobotPlatform, webhookUrl: string): string | undefined {
  try {
    const url = new URL(webhookUrl);
    if (platform === 'wecom') return url.searchParams.get('key') ?? undefined;
    if (platform === 'dingtalk') return url.searchParams.get('access_token') ?? undefined;
    return url.pathname.split('/').filter(Boolean).pop();
  } catch {
    return undefined;
  }
}

export async function startSandbox(opts: {
  databaseUrl: string;
  appSecret: string;
  publicBaseUrl: string;
  timeScale?: number;
  seed?: number;
}): Promise<RunningSandbox> {
  const secrets = new Map<string, string>();
  const box = new SecretBox(opts.appSecret);
  const twilio = {
    accountSid: `AC${'5a4db0c'.padEnd(32, '0')}`,
    authToken: randomBytes(16).toString('hex'),
  };
  const broadcastSecret = randomBytes(16).toString('hex');
  const carrier = await SandboxCarrier.start({
    twilio,
    smsInboundUrl: `${opts.publicBaseUrl.replace(/\/+$/, '')}/webhooks/twilio/sms`,
    robotSecret: (platform, token) => secrets.get(`${platform}:${token}`),
    broadcastSecret,
    seed: opts.seed ?? 1,
    timeScale: opts.timeScale ?? 1,
  });

  const refreshRobots = async () => {
    const db = new Client({ connectionString: opts.databaseUrl });
    await db.connect();
    try {
      const rows = await db.query<{
        platform: RobotPlatform;
        webhook_url_encrypted: string;
        secret_encrypted: string | null;
      }>(`SELECT platform, webhook_url_encrypted, secret_encrypted FROM group_robots`);
      for (const r of rows.rows) {
        const token = robotToken(r.platform, box.decrypt(r.webhook_url_encrypted));
        if (token)
          secrets.set(
            `${r.platform}:${token}`,
            r.secret_encrypted ? box.decrypt(r.secret_encrypted) : '',
          );
      }
    } finally {
      await db.end();
    }
  };

  return {
    carrier,
    env: {
      TWILIO_ACCOUNT_SID: twilio.accountSid,
      TWILIO_AUTH_TOKEN: twilio.authToken,
      TWILIO_FROM_NUMBER: '+15005550006',
      TWILIO_API_BASE_URL: carrier.baseUrl,
      WECOM_API_BASE_URL: carrier.baseUrl,
      DINGTALK_API_BASE_URL: carrier.baseUrl,
      FEISHU_API_BASE_URL: carrier.baseUrl,
      BROADCAST_API_URL: carrier.baseUrl,
      BROADCAST_SECRET: broadcastSecret,
      SMTP_URL: `smtp://127.0.0.1:${carrier.smtpPort}`,
      MAIL_FROM: 'warnings@sandbox.local',
    },
    refreshRobots,
    stop: () => carrier.stop(),
  };
}
