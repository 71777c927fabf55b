import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getContext, getPrompt, forcePromptVersion, Llmscope, LlmscopeConfigError, LlmscopePromptError, runWithContext, setUser, type LlmscopeOptions } from '../../src';

let dir: string;
const open: Llmscope[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmscope-prompts-'));
});
afterEach(async () => {
  rmSync(dir, { recursive: true, force: true });
  await Promise.all(open.splice(0).map((s) => s.shutdown()));
});

function write(path: string, content: string): void {
  mkdirSync(join(dir, path, '..'), { recursive: true });
  writeFileSync(join(dir, path), content);
}

function scope(options: LlmscopeOptions<never>): Llmscope {
  const s = new Llmscope({ metrics: false, tracing: false, ...options });
  open.push(s);
  return s;
}

function configError(options: LlmscopeOptions<never>): string {
  try {
    scope(options);
  } catch (error) {
    expect(error).toBeInstanceOf(LlmscopeConfigError);
    return (error as Error).message;
  }
  throw new Error('no error');
}

describe('local prompts', () => {
  test('a folder: text, markdown and JSON versions, labels from labels.json and from the JSON file, latest', async () => {
    write('rag-answer/v1.txt', 'Answer {{question}}.\n');
    write('rag-answer/v2.md', '# Answer\n{{question}}');
    write('rag-answer/v10.json', JSON.stringify({ prompt: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: '{{question}}' }], config: { model: 'gpt-4o-mini', temperature: 0.2 }, labels: ['staging'] }));
    write('rag-answer/labels.json', JSON.stringify({ production: 'v2' }));
    write('summary/1.txt', 'Summarise {{text}}');
    write('.DS_Store', 'ignored');
    const s = scope({ prompts: { dir } });

    const prod = await s.getPrompt('rag-answer');
    expect(prod).toMatchObject({ name: 'rag-answer', version: 'v2', type: 'text', prompt: '# Answer\n{{question}}', isFallback: false, source: 'local', labels: ['production'] });
    expect(prod.type === 'text' && prod.compile({ question: 'Why?' })).toBe('# Answer\nWhy?');
    const staging = await s.getPrompt('rag-answer', { label: 'staging' });
    // v10 sorts after v2: it is the latest.
    expect(staging).toMatchObject({ version: 'v10', type: 'chat', config: { model: 'gpt-4o-mini', temperature: 0.2 } });
    expect([...staging.labels].sort()).toEqual(['latest', 'staging']);
    expect(staging.type === 'chat' && staging.compile({ question: 'Why?' })).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Why?' }]);
    expect((await s.getPrompt('rag-answer', { version: 'v1' })).prompt).toBe('Answer {{question}}.');
    // Without a production label, the newest version serves.
    expect(await s.getPrompt('summary')).toMatchObject({ version: '1', labels: expect.arrayContaining(['production', 'latest']) });
  });

  test('prompts in code, with the folder; numbers as versions', async () => {
    write('a/v1.txt', 'from the folder');
    const s = scope({ prompts: { dir, local: [{ name: 'b', version: 3, prompt: 'in code {{x}}', labels: ['production'] }, { name: 'b', version: 4, prompt: 'newer' }] } });
    expect(await s.getPrompt('b')).toMatchObject({ version: '3', prompt: 'in code {{x}}' });
    expect(await s.getPrompt('b', { version: 4 })).toMatchObject({ version: '4', labels: ['latest'] });
    expect(await s.getPrompt('a')).toMatchObject({ prompt: 'from the folder' });
  });

  test('an unknown prompt or version rejects with what exists; a fallback is served instead when given', async () => {
    const s = scope({ prompts: { local: [{ name: 'b', version: 'v1', prompt: 'x' }] } });
    await expect(s.getPrompt('nope')).rejects.toThrow(new LlmscopePromptError('no local prompt "nope" has label "production" (known prompts: b); add it to `prompts.local` or `prompts.dir`.'));
    await expect(s.getPrompt('b', { version: 'v9' })).rejects.toThrow('no local prompt "b" has version "v9" (it has v1)');
    const fallback = await s.getPrompt('nope', { fallback: 'Hello {{name}}' });
    expect(fallback).toMatchObject({ name: 'nope', version: 'fallback', isFallback: true, source: 'fallback' });
    expect(fallback.type === 'text' && fallback.compile({ name: 'x' })).toBe('Hello x');
  });

  test.each<[string, (d: string) => void, LlmscopeOptions<never>['prompts'] | ((d: string) => LlmscopeOptions<never>['prompts']), string]>([
    ['a missing folder', () => undefined, (d) => ({ dir: join(d, 'nope') }), 'does not exist. Create it with one sub-folder per prompt'],
    ['a file instead of a prompt folder', (d) => writeFileSync(join(d, 'x.txt'), 'x'), (d) => ({ dir: d }), 'must hold one sub-folder per prompt'],
    ['an unknown file type', () => write('a/v1.yaml', 'x'), (d) => ({ dir: d }), 'a prompt folder holds <version>.txt, <version>.md, <version>.json and labels.json files only'],
    ['bad JSON', () => write('a/v1.json', '{ nope'), (d) => ({ dir: d }), 'v1.json is not valid JSON'],
    ['a JSON prompt without a prompt', () => write('a/v1.json', '{"config": {}}'), (d) => ({ dir: d }), '`prompt` must be a text or a non-empty array of chat messages'],
    ['an unknown JSON field', () => write('a/v1.json', '{"prompt": "x", "model": "gpt"}'), (d) => ({ dir: d }), 'unknown field "model"; a prompt has type, prompt, config, labels'],
    ['a type that disagrees', () => write('a/v1.json', '{"prompt": "x", "type": "chat"}'), (d) => ({ dir: d }), '`type` is "chat" but `prompt` is a text'],
    ['a label on two versions', () => { write('a/v1.json', '{"prompt": "x", "labels": ["production"]}'); write('a/v2.json', '{"prompt": "y", "labels": ["production"]}'); }, (d) => ({ dir: d }), 'label "production" of prompt "a" is on two versions, "v1" and "v2"'],
    ['labels.json naming a missing version', () => { write('a/v1.txt', 'x'); write('a/labels.json', '{"production": "v7"}'); }, (d) => ({ dir: d }), 'label "production" names version "v7", which prompt "a" does not have (it has v1)'],
    ['a version twice', () => { write('a/v1.txt', 'x'); write('a/v1.md', 'y'); }, (d) => ({ dir: d }), 'prompt "a" has version "v1" twice'],
    ['a code prompt without a version', () => undefined, { local: [{ name: 'a', prompt: 'x' } as never] }, 'option `prompts.local[0]` needs a `version`'],
    ['an experiment on an unknown prompt', () => undefined, { local: [{ name: 'a', version: 'v1', prompt: 'x' }], experiments: { b: { variants: { v1: 1 } } } }, 'is an experiment on prompt "b", which no local prompt has (known: a)'],
    ['an experiment on a missing version', () => undefined, { local: [{ name: 'a', version: 'v1', prompt: 'x' }], experiments: { a: { variants: { v1: 90, v2: 10 } } } }, 'option `prompts.experiments["a"].variants` names version "v2", which the prompt does not have (it has v1).'],
    ['negative weights', () => undefined, { local: [{ name: 'a', version: 'v1', prompt: 'x' }], experiments: { a: { variants: { v1: -1 } } } }, 'has weight -1 for "v1"; weights are finite numbers >= 0'],
    ['weights adding up to 0', () => undefined, { local: [{ name: 'a', version: 'v1', prompt: 'x' }], experiments: { a: { variants: { v1: 0 } } } }, 'must have weights that add up to more than 0'],
    ['a forced version outside the experiment', () => undefined, { local: [{ name: 'a', version: 'v1', prompt: 'x' }], experiments: { a: { variants: { v1: 1 }, force: { qa: 'v2' } } } }, 'option `prompts.experiments["a"].force["qa"]` must be one of the experiment\'s versions (v1), got "v2".'],
  ])('%s fails at start-up with a clear message', (_, setUp, prompts, message) => {
    setUp(dir);
    expect(configError({ prompts: typeof prompts === 'function' ? prompts(dir) : prompts })).toContain(message);
  });

  test('experiments: the request\'s user picks the variant; forced by option or per request; an asked version or label bypasses it', async () => {
    const s = scope({
      prompts: {
        local: [{ name: 'a', version: 'v3', prompt: 'three', labels: ['production'] }, { name: 'a', version: 'v4', prompt: 'four', labels: ['staging'] }],
        experiments: { a: { variants: { v3: 50, v4: 50 }, force: { 'qa-user': 'v4' } } },
      },
    });
    const experiment = s.prompts.experiment('a');
    expect(experiment?.weights()).toEqual({ v3: 50, v4: 50 });
    const users = Array.from({ length: 40 }, (_, i) => `u${i}`);
    for (const user of users) {
      const got = await s.run(contextFor(s, user), () => getPrompt('a'));
      expect(got.version).toBe(experiment?.assign(user));
    }
    expect(await s.run(contextFor(s, 'qa-user'), () => getPrompt('a'))).toMatchObject({ version: 'v4' });
    const forced = await s.run(contextFor(s, 'u1'), async () => {
      forcePromptVersion('a', experiment?.assign('u1') === 'v3' ? 'v4' : 'v3');
      return getPrompt('a');
    });
    expect(forced.version).not.toBe(experiment?.assign('u1'));
    expect(await s.run(contextFor(s, 'u1'), () => getPrompt('a', { label: 'production' }))).toMatchObject({ version: 'v3' });
    expect(await s.run(contextFor(s, 'u1'), () => getPrompt('a', { version: 'v4' }))).toMatchObject({ version: 'v4' });
  });

  test('with no llmscope instance, getPrompt() rejects with what to do', async () => {
    await expect(getPrompt('a')).rejects.toThrow('llmscope: getPrompt() needs an llmscope instance');
  });

  test('getPrompt sets the prompt of the current context; outside any context it only returns the prompt', async () => {
    scope({ prompts: { local: [{ name: 'a', version: 'v3', prompt: 'x' }], experiments: { a: { variants: { v3: 1 } } } } });
    const seen = await runWithContext(async () => {
      setUser('someone');
      await getPrompt('a');
      return { ...getContext()?.toJSON(), experiment: getContext()?.promptExperiment };
    });
    expect(seen).toMatchObject({ promptName: 'a', promptVersion: 'v3', experiment: 'a' });
    expect(await getPrompt('a')).toMatchObject({ version: 'v3' });
  });
});

function contextFor(s: Llmscope, user: string) {
  return s.startRequest('GET', '/', { 'x-user-id': user }, undefined);
}
