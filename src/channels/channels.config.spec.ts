import {
  ChannelsConfigurationError,
  redactChannelsConfig,
  validateChannelsEnv,
} from './channels.config';

const SID = `AC${'0123456789abcdef'.repeat(2)}`;

function problems(env: Record<string, string>): string {
  try {
    validateChannelsEnv(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ChannelsConfigurationError);
    return (err as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('validateChannelsEnv', () => {
  it('needs nothing: no provider configured, documented defaults', () => {
    expect(validateChannelsEnv({})).toEqual({
      sms: { signature: '应急预警' },
      robots: {},
      rateLimits: {
        twilioCallsPerSecond: 1,
        twilioSmsPerSecond: 10,
        wecomPerMinute: 20,
        dingtalkPerMinute: 20,
        feishuPerMinute: 100,
        feishuPerSecond: 5,
        emailPerSecond: 20,
        broadcastPerSecond: 5,
      },
      breaker: { failureThresholdPercent: 50, resetMs: 30_000, minRequests: 10 },
    });
  });

  it('types and groups a full configuration', () => {
    const config = validateChannelsEnv({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: 'auth-token-123',
      TWILIO_FROM_NUMBER: '+8610690000110',
      TWILIO_MESSAGING_SERVICE_SID: `MG${'a'.repeat(32)}`,
      TWILIO_API_BASE_URL: 'http://127.0.0.1:4010',
      TWILIO_TIMEOUT_MS: '8000',
      SMS_SIGNATURE: '汶川县应急',
      SMTP_URL: 'smtp://user:pass@127.0.0.1:2525',
      MAIL_FROM: '汶川县应急 <alerts@example.cn>',
      BROADCAST_API_URL: 'http://127.0.0.1:4010',
      BROADCAST_SECRET: 'broadcast-secret-16+',
      WECOM_API_BASE_URL: 'http://127.0.0.1:4010',
      DINGTALK_API_BASE_URL: 'http://localhost:4010',
      FEISHU_API_BASE_URL: 'http://127.0.0.1:4010/prefix',
      TWILIO_CALLS_PER_SECOND: '2',
      FEISHU_PER_SECOND: '4',
      BREAKER_RESET_MS: '5000',
    });
    expect(config.twilio).toEqual({
      accountSid: SID,
      authToken: 'auth-token-123',
      apiBaseUrl: 'http://127.0.0.1:4010',
      fromNumber: '+8610690000110',
      messagingServiceSid: `MG${'a'.repeat(32)}`,
      timeoutMs: 8000,
    });
    expect(config.sms.signature).toBe('汶川县应急');
    expect(config.email).toEqual({
      smtpUrl: 'smtp://user:pass@127.0.0.1:2525',
      from: '汶川县应急 <alerts@example.cn>',
    });
    expect(config.broadcast).toEqual({
      apiUrl: 'http://127.0.0.1:4010',
      secret: 'broadcast-secret-16+',
    });
    expect(config.robots.feishuApiBaseUrl).toBe('http://127.0.0.1:4010/prefix');
    expect(config.rateLimits).toMatchObject({ twilioCallsPerSecond: 2, feishuPerSecond: 4 });
    expect(config.breaker.resetMs).toBe(5000);
  });

  it('names every bad variable in one error', () => {
    const message = problems({
      TWILIO_FROM_NUMBER: '13800000000',
      TWILIO_CALLS_PER_SECOND: 'fast',
      BREAKER_FAILURE_THRESHOLD_PERCENT: '150',
      TWILIO_TIMEOUT_MS: '50',
    });
    expect(message).toContain('TWILIO_FROM_NUMBER: must be an E.164 number');
    expect(message).toContain('TWILIO_TIMEOUT_MS');
    expect(message).toContain('(got "13800000000")');
    expect(message).toContain('TWILIO_CALLS_PER_SECOND');
    expect(message).toContain('BREAKER_FAILURE_THRESHOLD_PERCENT');
  });

  it('never prints a secret', () => {
    const message = problems({
      TWILIO_AUTH_TOKEN: 'tiny',
      BROADCAST_SECRET: 'short-secret',
      SMTP_URL: 'http://u:topsecret@x',
    });
    for (const v of ['TWILIO_AUTH_TOKEN', 'BROADCAST_SECRET', 'SMTP_URL'])
      expect(message).toContain(v);
    for (const secret of ['tiny', 'short-secret', 'topsecret'])
      expect(message).not.toContain(secret);
    expect(message).toContain('(value hidden)');
  });

  it('checks what one variable needs from another', () => {
    expect(problems({ TWILIO_ACCOUNT_SID: SID })).toContain(
      'TWILIO_AUTH_TOKEN: required when TWILIO_ACCOUNT_SID is set',
    );
    expect(problems({ TWILIO_ACCOUNT_SID: SID, TWILIO_AUTH_TOKEN: 'auth-token-123' })).toContain(
      'TWILIO_FROM_NUMBER: required',
    );
    expect(problems({ TWILIO_FROM_NUMBER: '+8610690000110' })).toContain(
      'TWILIO_ACCOUNT_SID: required when TWILIO_FROM_NUMBER is set',
    );
    expect(problems({ SMTP_URL: 'smtp://127.0.0.1:2525' })).toContain(
      'MAIL_FROM: required when SMTP_URL is set',
    );
    expect(problems({ BROADCAST_API_URL: 'http://127.0.0.1:1' })).toContain(
      'BROADCAST_SECRET: required',
    );
    expect(problems({ SMS_SIGNATURE: '【应急】' })).toContain('SMS_SIGNATURE');
  });

  it('SMS through a Messaging Service only: SMS yes, voice needs a from number', () => {
    const config = validateChannelsEnv({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: 'auth-token-123',
      TWILIO_MESSAGING_SERVICE_SID: `MG${'b'.repeat(32)}`,
    });
    expect(config.twilio?.fromNumber).toBeUndefined();
    expect(config.twilio?.messagingServiceSid).toBe(`MG${'b'.repeat(32)}`);
  });

  it('redacts secrets for the boot log', () => {
    const config = validateChannelsEnv({
      TWILIO_ACCOUNT_SID: SID,
      TWILIO_AUTH_TOKEN: 'auth-token-123',
      TWILIO_FROM_NUMBER: '+8610690000110',
      SMTP_URL: 'smtp://mailer:pa55word@mail.example.cn:587',
      MAIL_FROM: 'alerts@example.cn',
      BROADCAST_API_URL: 'https://broadcast.example.cn',
      BROADCAST_SECRET: 'broadcast-secret-16+',
    });
    const logged = JSON.stringify(redactChannelsConfig(config));
    for (const secret of ['auth-token-123', 'pa55word', 'broadcast-secret-16+', 'mailer'])
      expect(logged).not.toContain(secret);
    expect(logged).toContain('mail.example.cn');
  });
});
