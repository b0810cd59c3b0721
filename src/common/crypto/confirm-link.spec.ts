import { ConfirmLinkSigner } from './confirm-link';

describe('ConfirmLinkSigner', () => {
  const signer = new ConfirmLinkSigner('s'.repeat(32));
  const id = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
  const later = new Date(Date.now() + 3600_000);

  it('round-trips the delivery id and expiry', () => {
    const token = signer.sign(id, later);
    expect(token.length).toBeLessThan(60);
    const v = signer.verify(token);
    expect(v).toEqual({
      ok: true,
      deliveryId: id,
      expiresAt: new Date(Math.floor(later.getTime() / 1000) * 1000),
    });
  });

  it('refuses expired, forged and malformed tokens', () => {
    expect(signer.verify(signer.sign(id, new Date(Date.now() - 1000)))).toEqual({
      ok: false,
      reason: 'expired',
    });
    const token = signer.sign(id, later);
    const [p] = token.split('.');
    const otherId = signer.sign('00000000-0000-4000-8000-000000000000', later).split('.')[0];
    expect(signer.verify(`${otherId}.${token.split('.')[1]}`)).toEqual({
      ok: false,
      reason: 'forged',
    });
    expect(new ConfirmLinkSigner('t'.repeat(32)).verify(token)).toEqual({
      ok: false,
      reason: 'forged',
    });
    expect(signer.verify(p)).toEqual({ ok: false, reason: 'malformed' });
    expect(signer.verify('abc.def')).toEqual({ ok: false, reason: 'malformed' });
  });
});
