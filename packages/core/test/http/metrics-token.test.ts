import { Registry } from 'prom-client';
import { createMetricsHandler } from '../../src/http/metrics-endpoint';

// The comparison itself is constant time by construction (SHA-256 of both sides, then
// timingSafeEqual on 32 bytes: see metrics-endpoint.ts); timing it here would only measure the
// machine. What a test can hold: every near miss is refused, the token alone is accepted.
describe('metrics bearer token', () => {
  const token = 's3cret-token-0123456789';
  const handler = createMetricsHandler(new Registry(), token);
  const status = async (authorization: string | undefined): Promise<number> => (await handler(authorization)).status;

  test('the token is accepted (surrounding spaces trimmed)', async () => {
    expect(await status(`Bearer ${token}`)).toBe(200);
    expect(await status(`Bearer  ${token} `)).toBe(200);
  });

  test.each<[string, string | undefined]>([
    ['no header', undefined],
    ['empty', ''],
    ['another scheme', `Basic ${token}`],
    ['no token', 'Bearer '],
    ['a prefix of the token', `Bearer ${token.slice(0, -1)}`],
    ['the token and more', `Bearer ${token}x`],
    ['same length, last byte wrong', `Bearer ${token.slice(0, -1)}8`],
    ['same length, first byte wrong', `Bearer S${token.slice(1)}`],
    ['a much longer value', `Bearer ${token.repeat(1000)}`],
    ['non-ASCII of the same byte length', `Bearer ${'é'.repeat(token.length / 2)}${token.length % 2 ? 'x' : ''}`],
  ])('%s: 401 with a Bearer challenge', async (_name, header) => {
    const res = await handler(header);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
  });

  test('a non-ASCII token works', async () => {
    const h = createMetricsHandler(new Registry(), 'jeton-secret-é');
    expect((await h('Bearer jeton-secret-é')).status).toBe(200);
    expect((await h('Bearer jeton-secret-e')).status).toBe(401);
  });
});
