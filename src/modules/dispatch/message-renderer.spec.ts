import type { ConfigService } from '@nestjs/config';
import { PublicUrls } from '../../common/public-urls';
import type { WarningContent } from '../../common/domain/warning.types';
import {
  IMMINENT_ORANGE_ALERT,
  IMMINENT_RED_ALERT,
  IMMINENT_RED_UPDATE,
  METEO_YELLOW_ALERT,
} from '../../templates/examples';
import { renderMessage } from '../../templates';
import { MessageRenderer } from './message-renderer';

function renderer(signature = '汶川县应急') {
  const env: Record<string, string> = {
    APP_SECRET: 's'.repeat(40),
    PUBLIC_BASE_URL: 'https://gw.example',
    SMS_SIGNATURE: signature,
  };
  const config = { get: (key: string) => env[key] } as unknown as ConfigService<never, true>;
  return new MessageRenderer(new PublicUrls(config as never), config as never);
}

const resident = (n: number) => ({
  name: `居民${n}`,
  role: 'resident' as const,
  deliveryId: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
});

describe('MessageRenderer.sms', () => {
  it('gives every resident of a version the text rendered for them alone, without signing a link', () => {
    const r = renderer();
    const sign = jest.spyOn(r.linkSigner, 'sign');
    const texts = [1, 2, 3].map((n) => r.sms(IMMINENT_RED_ALERT, 'alert', resident(n)));
    expect(sign).not.toHaveBeenCalled();
    for (const [i, text] of texts.entries()) {
      const alone = renderMessage('sms', {
        warning: { ...IMMINENT_RED_ALERT, msgType: 'alert' },
        signature: '汶川县应急',
        recipient: {
          name: resident(i + 1).name,
          role: '群众',
          confirmUrl: r.confirmUrl(resident(i + 1).deliveryId, IMMINENT_RED_ALERT),
        },
      });
      expect(alone.shortFits).toBe(true);
      expect(text).toBe(alone.short);
    }
  });

  it('keeps each version, message type and comparison apart', () => {
    const r = renderer();
    const red = r.sms(IMMINENT_RED_ALERT, 'alert', resident(1));
    const orange = r.sms(IMMINENT_ORANGE_ALERT, 'alert', resident(1));
    const meteo = r.sms(METEO_YELLOW_ALERT, 'alert', resident(1));
    expect(new Set([red, orange, meteo]).size).toBe(3);
    expect(r.sms(IMMINENT_RED_ALERT, 'cancel', resident(2))).not.toBe(red);
    // An update says what changed since the version before: a different one, a different text.
    const fromOrange = r.sms(IMMINENT_RED_UPDATE, 'update', resident(1), {
      level: IMMINENT_ORANGE_ALERT.level,
    });
    const fromYellow = r.sms(IMMINENT_RED_UPDATE, 'update', resident(2), { level: 'yellow' });
    expect(fromOrange).not.toBe(fromYellow);
    expect(fromOrange).toBe(
      r.sms(IMMINENT_RED_UPDATE, 'update', resident(3), { level: IMMINENT_ORANGE_ALERT.level }),
    );
  });

  it('sends a responsible person their own link, and a resident theirs when the short form does not fit', () => {
    const r = renderer();
    const leader = {
      name: '李组长',
      role: 'grid_leader' as const,
      deliveryId: resident(9).deliveryId,
    };
    const text = r.sms(IMMINENT_RED_ALERT, 'alert', leader);
    expect(text).toContain('李组长');
    expect(text).toContain(r.confirmUrl(leader.deliveryId, IMMINENT_RED_ALERT));

    // A signature this long leaves no room for the one-segment form.
    const long = renderer('很长的签名'.repeat(14));
    const [a, b] = [1, 2].map((n) => long.sms(IMMINENT_RED_ALERT, 'alert', resident(n)));
    expect(a).toContain(long.confirmUrl(resident(1).deliveryId, IMMINENT_RED_ALERT));
    expect(b).toContain(long.confirmUrl(resident(2).deliveryId, IMMINENT_RED_ALERT));
    expect(b).toContain('居民2');
  });

  it('renders a release to a resident whose area was dropped for them alone', () => {
    const r = renderer();
    const content: WarningContent = { ...IMMINENT_RED_UPDATE, msgType: 'update' };
    const a = r.sms(content, 'cancel', {
      ...resident(1),
      dropped: { places: ['中滩堡村'], level: 'red' },
    });
    const b = r.sms(content, 'cancel', {
      ...resident(2),
      dropped: { places: ['张家坪村'], level: 'red' },
    });
    expect(a).toContain('中滩堡村');
    expect(b).toContain('张家坪村');
    expect(b).not.toContain('中滩堡村');
  });
});
