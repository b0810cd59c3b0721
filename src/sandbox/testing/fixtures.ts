import { createTwilioClient, type TwilioClient } from '../../channels/twilio/twilio-client.factory';
import { SandboxCarrier, type SandboxCarrierOptions } from '../sandbox-carrier';

/** Credentials and secrets the sandbox tests (and e2e tests of the gateway) can share. */
export const TEST_ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const TEST_AUTH_TOKEN = 'sandbox-test-auth-token';
export const TEST_BROADCAST_SECRET = 'sandbox-test-broadcast-secret';

/** Robots known to the test sandbox: token → secret ('' = no signing). */
export const TEST_ROBOTS = {
  wecom: { 'wecom-key-1': '', 'wecom-key-2': '' } as Record<string, string>,
  dingtalk: { 'ding-token-1': 'SECdingtalk-secret-1', 'ding-token-open': '' } as Record<
    string,
    string
  >,
  feishu: { 'feishu-token-1': 'feishu-secret-1', 'feishu-token-open': '' } as Record<
    string,
    string
  >,
};

export function startTestSandbox(
  overrides: Partial<SandboxCarrierOptions> = {},
): Promise<SandboxCarrier> {
  return SandboxCarrier.start({
    twilio: { accountSid: TEST_ACCOUNT_SID, authToken: TEST_AUTH_TOKEN },
    robotSecret: (platform, token) => TEST_ROBOTS[platform][token],
    broadcastSecret: TEST_BROADCAST_SECRET,
    seed: 7,
    timeScale: 0.01,
    ...overrides,
  });
}

export function sandboxTwilioClient(
  carrier: SandboxCarrier,
  authToken = TEST_AUTH_TOKEN,
): TwilioClient {
  return createTwilioClient({
    accountSid: TEST_ACCOUNT_SID,
    authToken,
    apiBaseUrl: carrier.baseUrl,
  });
}
