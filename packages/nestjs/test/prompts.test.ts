import request from 'supertest';
import { Controller, Get, Inject, Injectable } from '@nestjs/common';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { getContext, LlmscopeModule, LlmscopePrompts, PromptVersion, traceLLM } from '../src';
import { find, memoryExporter, parseMetrics, waitForSpans } from '@llmscope/testkit';
import { appModule, PLATFORMS, startNest, type Platform, type RunningNest } from './app';

// @PromptVersion('rag-answer') with no version, and the injectable LlmscopePrompts, in a real
// Nest app on both platforms: the prompt experiment picks each user's version.

const exporter = memoryExporter();

interface Answer {
  /** The prompt version the method's scope had before getPrompt (the decorator's pick). */
  scoped: string | undefined;
  version: string;
  text: string;
  experiment: string | undefined;
}

@Injectable()
class AnswerService {
  constructor(@Inject(LlmscopePrompts) readonly prompts: LlmscopePrompts) {}

  @PromptVersion('rag-answer')
  async answer(user: string): Promise<Answer> {
    const scoped = getContext()?.promptVersion;
    const prompt = await this.prompts.get('rag-answer');
    const text = prompt.type === 'text' ? prompt.compile({ user }) : '';
    await traceLLM({ model: String(prompt.config.model), provider: 'openai' }, async (call) => {
      call.setUsage({ inputTokens: 1000, outputTokens: 100 });
      return text;
    });
    return { scoped, version: prompt.version, text, experiment: getContext()?.promptExperiment };
  }
}

@Controller('p')
class PromptController {
  constructor(@Inject(AnswerService) private readonly service: AnswerService) {}

  @Get('answer')
  async answer(): Promise<Answer & { after: string | undefined }> {
    const answer = await this.service.answer(getContext()?.userId ?? 'nobody');
    // The decorator's scope ended with the method.
    return { ...answer, after: getContext()?.promptVersion };
  }

  @Get('forced')
  forced(): Promise<Answer> {
    this.service.prompts.force('rag-answer', 'v4');
    return this.service.answer('forced');
  }
}

const llmSpans = (spans: ReadableSpan[]) => spans.filter((s) => s.name === 'chat gpt-4o-mini');

describe.each(PLATFORMS.map((p) => [p] as [Platform]))('prompts on %s', (platform) => {
  let nest: RunningNest;
  beforeAll(async () => {
    const module = appModule(LlmscopeModule.forRoot({
      prompts: {
        local: [
          { name: 'rag-answer', version: 'v3', prompt: 'Hello {{user}}', labels: ['production'], config: { model: 'gpt-4o-mini' } },
          { name: 'rag-answer', version: 'v4', prompt: 'Hi {{user}}!', config: { model: 'gpt-4o-mini' } },
        ],
        experiments: { 'rag-answer': { variants: { v3: 50, v4: 50 }, force: { 'qa-user': 'v4' } } },
      },
    }), [PromptController]);
    nest = await startNest(platform, { module, providers: [AnswerService] });
  });
  afterAll(() => nest.close());
  afterEach(() => exporter.reset());

  test('@PromptVersion(name) without a version: each user gets the experiment\'s variant, in the scope, from the service, on the LLM span and the cost metric', async () => {
    const experiment = nest.app.get(LlmscopePrompts).experiment('rag-answer');
    expect(experiment?.weights()).toEqual({ v3: 50, v4: 50 });
    const users = Array.from({ length: 10 }, (_, i) => `nest-user-${i}`);
    const counts: Record<string, number> = { v3: 0, v4: 0 };
    for (const user of users) {
      const res = await request(nest.url).get('/p/answer').set('x-user-id', user).expect(200);
      const body = res.body as Answer & { after: string | undefined };
      const expected = experiment?.assign(user) as string;
      expect(body).toEqual({ scoped: expected, version: expected, text: expected === 'v3' ? `Hello ${user}` : `Hi ${user}!`, experiment: 'rag-answer', after: undefined });
      counts[expected] = (counts[expected] as number) + 1;
    }
    expect(counts.v3).toBeGreaterThan(0);
    expect(counts.v4).toBeGreaterThan(0);
    const spans = llmSpans(await waitForSpans(exporter, (x) => llmSpans(x).length === users.length));
    const byUser = new Map(spans.map((s) => [s.attributes['user.id'], s.attributes]));
    for (const user of users) {
      expect(byUser.get(user)).toMatchObject({ 'llmscope.prompt.name': 'rag-answer', 'llmscope.prompt.version': experiment?.assign(user), 'llmscope.prompt.experiment': 'rag-answer' });
    }
    const s = parseMetrics((await request(nest.url).get('/metrics').expect(200)).text);
    const v3 = find(s, 'llmscope_llm_cost_usd_total', { prompt_name: 'rag-answer', prompt_version: 'v3' })[0]?.value ?? 0;
    const v4 = find(s, 'llmscope_llm_cost_usd_total', { prompt_name: 'rag-answer', prompt_version: 'v4' })[0]?.value ?? 0;
    expect(v3 / (v3 + v4)).toBeCloseTo((counts.v3 as number) / users.length, 10);
  });

  test('forced variants: by the option for a user, and by LlmscopePrompts.force() for one request', async () => {
    const qa = (await request(nest.url).get('/p/answer').set('x-user-id', 'qa-user').expect(200)).body as Answer;
    expect(qa).toMatchObject({ scoped: 'v4', version: 'v4', experiment: 'rag-answer' });
    const forced = (await request(nest.url).get('/p/forced').expect(200)).body as Answer;
    expect(forced).toMatchObject({ version: 'v4', text: 'Hi forced!' });
  });

  test('a rollout or guard changing the weights is followed by the next requests', async () => {
    const experiment = nest.app.get(LlmscopePrompts).experiment('rag-answer');
    experiment?.setWeights({ v3: 0, v4: 100 }, 'test: all on v4');
    try {
      for (const user of ['a', 'b', 'c']) {
        expect(((await request(nest.url).get('/p/answer').set('x-user-id', user).expect(200)).body as Answer).version).toBe('v4');
      }
    } finally {
      experiment?.setWeights({ v3: 50, v4: 50 }, 'test: back');
    }
  });
});
