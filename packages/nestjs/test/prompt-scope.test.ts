import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { getContext, Llmscope, PromptVersion, runWithContext, setPromptVersion } from '../src';

// No Nest app here: the prompt scope of the decorator, observed through the request context,
// first with no OpenTelemetry context manager (its own AsyncLocalStorage), then with one.

const tick = () => new Promise((r) => setTimeout(r, 1));
const prompt = () => `${getContext()?.promptName}@${getContext()?.promptVersion}`;

class Pipeline {
  seen: string[] = [];

  @PromptVersion('outer', 1)
  async outer(): Promise<void> {
    this.seen.push(`outer start ${prompt()}`);
    await this.inner();
    this.seen.push(`after inner ${prompt()}`);
    await Promise.all([this.inner(), this.beside()]);
    setPromptVersion('outer-changed', 2);
    await tick();
    this.seen.push(`outer end ${prompt()}`);
  }

  @PromptVersion('inner', 'b')
  async inner(): Promise<void> {
    await tick();
    this.seen.push(`inner ${prompt()}`);
  }

  /** Undecorated. */
  async beside(): Promise<void> {
    await tick();
    this.seen.push(`beside ${prompt()}`);
  }
}

function otelPropagates(): boolean {
  const key = createContextKey('probe');
  return context.with(ROOT_CONTEXT.setValue(key, true), () => context.active().getValue(key) === true);
}

async function run(): Promise<{ seen: string[]; after: string; json: unknown }> {
  return runWithContext(async () => {
    setPromptVersion('request', 'r');
    const p = new Pipeline();
    await p.outer();
    await p.beside();
    return { seen: p.seen, after: prompt(), json: (getContext()?.toJSON() as { promptName: string }).promptName };
  });
}

const EXPECTED = [
  'outer start outer@1',
  'inner inner@b',
  'after inner outer@1',
  'inner inner@b',
  'beside outer@1',
  'outer end outer-changed@2',
  'beside request@r',
];

test('without an OpenTelemetry context manager: scopes nest, end with the method and do not leak', async () => {
  expect(otelPropagates()).toBe(false);
  const { seen, after, json } = await run();
  expect(seen).toEqual(EXPECTED);
  expect(after).toBe('request@r');
  expect(json).toBe('request');
});

test('with the OpenTelemetry context manager llmscope registers: the same', async () => {
  const scope = new Llmscope({ metrics: false });
  try {
    expect(otelPropagates()).toBe(true);
    const { seen, after } = await run();
    expect(seen).toEqual(EXPECTED);
    expect(after).toBe('request@r');
  } finally {
    await scope.shutdown();
  }
});

test('outside any request, a decorated method runs in a context of its own', async () => {
  const p = new Pipeline();
  await p.inner();
  expect(p.seen).toEqual(['inner inner@b']);
  expect(getContext()).toBeUndefined();
});
