import { getContext, runWithContext, setFeature, setPromptVersion, setSession, setUser, tag } from '../../src';

describe('request context', () => {
  test('outside any context, tagging is a harmless no-op', () => {
    expect(getContext()).toBeUndefined();
    expect(() => {
      setUser('u');
      setSession('s');
      setFeature('f');
      tag('k', 'v');
      setPromptVersion('p', 1);
    }).not.toThrow();
  });

  test('values follow awaits and timers, and stay apart between concurrent units of work', async () => {
    const run = (user: string, delay: number) => runWithContext(async () => {
      setUser(user);
      await new Promise((r) => setTimeout(r, delay));
      const afterTimer = getContext()?.userId;
      await Promise.resolve();
      return [afterTimer, getContext()?.userId];
    });
    const [a, b] = await Promise.all([run('alice', 10), run('bob', 1)]);
    expect(a).toEqual(['alice', 'alice']);
    expect(b).toEqual(['bob', 'bob']);
  });

  test('clipping, type checks and the tag limit', () => {
    runWithContext(() => {
      setUser('u'.repeat(100));
      setSession(42);
      setFeature('');
      setPromptVersion('answer', 3);
      tag('ok', 'v');
      tag('n', 1.5);
      tag('b', false);
      tag('nan', Number.NaN);
      tag('obj', { a: 1 });
      tag(7, 'bad key');
      tag('k'.repeat(100), 'long key');
      tag('third', 'over the limit');
      tag('ok', 'overwrite is allowed at the limit');
      const ctx = getContext();
      expect(ctx?.userId).toBe('u'.repeat(10));
      expect(ctx?.sessionId).toBeUndefined();
      expect(ctx?.feature).toBeUndefined();
      expect(ctx?.promptVersion).toBe('3');
      expect(ctx?.tags).toEqual({ ok: 'overwrite ', n: 1.5, b: false, ['k'.repeat(64)]: 'long key' });
    }, { maxValueLength: 10, maxTags: 4 });
  });

  test('toJSON shows tags, not internals', () => {
    runWithContext(() => {
      setUser('u1');
      tag('tier', 'paid');
      expect(JSON.parse(JSON.stringify(getContext()))).toEqual({ userId: 'u1', tags: { tier: 'paid' } });
    });
  });
});
