import { describe, expect, it } from 'vitest';
import { generateIdentityKeys, randomBytes } from '../../../common/crypto/index.js';
import { parseRequestAuth, signRequest, verifyRequestAuth } from '../../../common/wire/index.js';

describe('signed requests', () => {
  const keys = generateIdentityKeys();
  const body = new TextEncoder().encode('{"ids":[]}');
  const header = signRequest({
    method: 'POST',
    path: '/v1/mail/ack',
    name: 'alice',
    at: 1_780_000_000_000,
    nonce: randomBytes(16),
    body,
    signSecret: keys.signSecret,
  });

  it('verifies over method, path and exact body', () => {
    const auth = parseRequestAuth(header);
    if (!auth.ok) throw auth.error;
    expect(auth.value.name).toBe('alice');
    expect(verifyRequestAuth(auth.value, 'POST', '/v1/mail/ack', body, keys.signPublic)).toBe(true);
    expect(verifyRequestAuth(auth.value, 'POST', '/v1/mail/fetch', body, keys.signPublic)).toBe(
      false,
    );
    expect(verifyRequestAuth(auth.value, 'GET', '/v1/mail/ack', body, keys.signPublic)).toBe(false);
    const other = new TextEncoder().encode('{"ids": []}');
    expect(verifyRequestAuth(auth.value, 'POST', '/v1/mail/ack', other, keys.signPublic)).toBe(
      false,
    );
    expect(
      verifyRequestAuth(
        auth.value,
        'POST',
        '/v1/mail/ack',
        body,
        generateIdentityKeys().signPublic,
      ),
    ).toBe(false);
  });

  it('accepts a time of 0, the one number that starts with a zero', () => {
    const zero = parseRequestAuth(header.replace(/at=\d+/, 'at=0'));
    expect(zero.ok && zero.value.at).toBe(0);
  });

  it('requires the header', () => {
    const missing = parseRequestAuth(undefined);
    expect(!missing.ok && missing.error.code).toBe('AUTH_REQUIRED');
  });

  it.each([
    ['another scheme', header.replace('Komrade', 'Bearer')],
    ['an uppercase name', header.replace('name=alice', 'name=Alice')],
    ['a short name', header.replace('name=alice', 'name=al')],
    ['a non-numeric time', header.replace(/at=\d+/, 'at=12x')],
    ['a short nonce', header.replace(/nonce=[^,]+/, 'nonce=AAAA')],
    ['a padded signature', `${header}==`],
    ['extra fields', `${header},x=1`],
    ['a unicode name', header.replace('name=alice', 'name=\u0430lice')],
    // The signature covers the number, so a padded spelling would verify: only one spelling.
    ['a zero-padded time', header.replace('at=', 'at=0')],
    ['a time of many zeros', header.replace(/at=\d+/, 'at=000')],
  ])('refuses %s as BAD_REQUEST', (_what, bad) => {
    const parsed = parseRequestAuth(bad);
    expect(!parsed.ok && parsed.error.code).toBe('BAD_REQUEST');
  });
});
