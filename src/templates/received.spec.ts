import {
  receivedCatalogue,
  renderReceivedSms,
  renderReceivedVoice,
  RECEIVED_KINDS,
} from './received';
import { smsSegments } from './catalogue/catalogue';

describe('answers received while the database is unreachable (src/templates/received.ts)', () => {
  const all = receivedCatalogue({ zh: '汶川县应急', en: 'Wenchuan EM' });

  it('say the answer was received, never that it was recorded, confirmed or done', () => {
    expect(all.length).toBe(14);
    for (const r of all) {
      expect(r.text).toMatch(/已收到|received/);
      expect(r.text).not.toMatch(/已记录|已确认|记录|recorded|confirmed|done/i);
    }
  });

  it('fit one SMS segment with the signature', () => {
    for (const kind of RECEIVED_KINDS) {
      expect(smsSegments(renderReceivedSms(kind, { signature: '汶川县应急' }))).toBe(1);
      expect(smsSegments(renderReceivedSms(kind, { signature: 'Wenchuan EM', locale: 'en' }))).toBe(
        1,
      );
    }
  });

  it('say nothing on the call for a key other than 1 or 2', () => {
    expect(renderReceivedVoice('other')).toBe('');
    expect(renderReceivedVoice('confirm')).toContain('已收到您的确认');
  });
});
