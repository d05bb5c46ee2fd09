/**
 * The one redactor: the inspector, the dashboard, the logger and the HTTP layer hide the same secrets the same way.
 */
import { describe, expect, it } from 'vitest';
import { redact as dashboardRedact } from '../../src/dashboard/redact.js';
import { redactUrl as httpRedactUrl } from '../../src/http/proxy.js';
import { sanitizeValue } from '../../src/inspect/sanitize.js';
import { isSecretKey, REDACTED, redactCredentials, redactUrl, redactValue } from '../../src/redact.js';

const session = {
  id: 's1',
  usageCount: 3,
  userData: {
    apiToken: 'tok-123',
    note: 'via http://crawler:hunter2@proxy.example:8000 today',
    label: 'shop',
  },
  headerProfile: {
    name: 'desktop',
    headers: { authorization: 'Bearer abc123', 'user-agent': 'Mozilla/5.0' },
  },
  cookieJar: {
    cookies: [{ key: 'sid', value: 'SECRET-VALUE', domain: '127.0.0.1', path: '/', httpOnly: true }],
  },
  password: 'p4ss',
  author: 'not a secret',
};

describe('redactValue', () => {
  it('hides secret fields, cookie values and URL credentials, and keeps everything else', () => {
    const clean = redactValue(session) as typeof session;
    const text = JSON.stringify(clean);
    for (const secret of ['tok-123', 'hunter2', 'abc123', 'SECRET-VALUE', 'p4ss'])
      expect(text).not.toContain(secret);
    expect(clean.userData.apiToken).toBe(REDACTED);
    expect(clean.userData.note).toBe('via http://***@proxy.example:8000 today');
    expect(clean.headerProfile.headers.authorization).toBe(REDACTED);
    expect(clean.headerProfile.headers['user-agent']).toBe('Mozilla/5.0');
    // A cookie's name, domain and flags stay visible: that is what one debugs with.
    expect(clean.cookieJar.cookies[0]).toEqual({
      key: 'sid',
      value: REDACTED,
      domain: '127.0.0.1',
      path: '/',
      httpOnly: true,
    });
    expect(clean.author).toBe('not a secret');
    expect(clean.usageCount).toBe(3);
  });

  it('is idempotent, breaks cycles, and turns errors and URLs into redacted JSON', () => {
    const once = redactValue(session);
    expect(redactValue(once)).toEqual(once);
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(redactValue(cyclic)).toEqual({ name: 'loop', self: '[Circular]' });
    const error = Object.assign(new Error('connect to http://u:pw@10.0.0.1:3128 failed'), {
      code: 'ECONNREFUSED',
    });
    expect(redactValue({ err: error, at: new URL('http://bob:s3cret@proxy:8000/') })).toEqual({
      err: { type: 'Error', code: 'ECONNREFUSED', message: 'connect to http://***@10.0.0.1:3128 failed' },
      at: 'http://bob:***@proxy:8000/',
    });
  });

  it('names secrets by field, whatever their case or separator', () => {
    for (const key of [
      'password',
      'Passwd',
      'apiKey',
      'api_key',
      'x-auth-token',
      'Authorization',
      'cookie',
      'Set-Cookie',
      'clientSecret',
      'privateKey',
      'credentials',
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['id', 'author', 'usageCount', 'cookieJar', 'proxyUrl', 'passes', 'compass']) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });
});

describe('one redactor behind every view', () => {
  it('the dashboard, the inspector and the HTTP layer redact exactly as redactValue / redactUrl do', () => {
    expect(dashboardRedact(session)).toEqual(redactValue(session));
    // The inspector bounds sizes on top, but what it keeps is redacted the same way.
    const inspected = sanitizeValue(session, { maxDepth: 10 });
    expect(inspected).toEqual(redactValue(session));
    expect(httpRedactUrl).toBe(redactUrl);
  });

  it('redactUrl keeps the user name of a parsed URL, free text loses the whole user-info', () => {
    expect(redactUrl('socks5://bob:hunter2@127.0.0.1:1080')).toBe('socks5://bob:***@127.0.0.1:1080');
    expect(redactUrl('http://tokenonly@proxy:8000')).toBe('http://***@proxy:8000/');
    expect(redactUrl('not a url http://a:b@c')).not.toContain(':b@');
    expect(redactCredentials('first http://a:b@x/ then https://t@y/')).toBe(
      'first http://***@x/ then https://***@y/',
    );
  });
});
