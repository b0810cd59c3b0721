import { SecretBox } from './secret-box';

describe('SecretBox', () => {
  const box = new SecretBox('x'.repeat(32));

  it('round-trips a secret and never stores it in clear', () => {
    const sealed = box.encrypt('SECabc123');
    expect(sealed).not.toContain('SECabc123');
    expect(box.decrypt(sealed)).toBe('SECabc123');
  });

  it('uses a fresh IV each time', () => {
    expect(box.encrypt('same')).not.toBe(box.encrypt('same'));
  });

  it('refuses a tampered or foreign ciphertext', () => {
    const sealed = box.encrypt('secret');
    const parts = sealed.split(':');
    parts[3] = Buffer.from('other').toString('base64url');
    expect(() => box.decrypt(parts.join(':'))).toThrow();
    expect(() => new SecretBox('y'.repeat(32)).decrypt(sealed)).toThrow();
  });
});
