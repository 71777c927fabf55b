import { LangfuseServer, OtlpReceiver, SentryServer, memoryLogger } from '@llmscope/testkit';
import { traceLLM } from '../../src';
import { Redactor } from '../../src/logging/redact';
import { ragApp } from '../exporters/exporter-app';

const API_KEY = 'sk-proj-Abc123Def456Ghi789Jkl012Mno345';
const EMAIL = 'jane.doe@example.com';

describe('redaction', () => {
  test('a prompt with an API key and an e-mail address reaches no log and no receiver in clear', async () => {
    const otlp = await new OtlpReceiver().start();
    const langfuse = await new LangfuseServer().start();
    const sentry = await new SentryServer().start();
    const { logger, raw } = memoryLogger();
    const app = await ragApp({
      metrics: false,
      llm: { captureContent: true },
      logging: { logger, captureContent: true },
      exporters: {
        otlp: { url: otlp.tracesUrl },
        langfuse: { publicKey: langfuse.publicKey, secretKey: langfuse.secretKey, baseUrl: langfuse.url },
        sentry: { dsn: sentry.dsn },
      },
    }, (a) => {
      a.post('/ask', async (req, res, next) => {
        const question = String((req.body as { question: string }).question);
        try {
          const answer = await traceLLM({ model: 'gpt-4o-mini', provider: 'openai', input: [{ role: 'user', content: question }] }, async () => ({
            id: 'c1', model: 'gpt-4o-mini', usage: { prompt_tokens: 5, completion_tokens: 5 },
            choices: [{ index: 0, message: { role: 'assistant', content: `I will write to ${EMAIL} with key ${API_KEY}` }, finish_reason: 'stop' }],
          }));
          if (question.includes('fail')) throw new Error(`could not use ${API_KEY} for ${EMAIL}`);
          res.json(answer);
        } catch (error) {
          next(error);
        }
      });
    });
    try {
      const prompt = `My key is ${API_KEY}, mail me at ${EMAIL}. Authorization: Bearer ${API_KEY}`;
      for (const question of [prompt, `${prompt} fail`]) {
        await fetch(`${app.url}/ask`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user-id': EMAIL }, body: JSON.stringify({ question }) });
      }
      await app.mw.llmscope.shutdown();
      await new Promise((r) => setTimeout(r, 50));

      const everything = [
        JSON.stringify(otlp.spans), JSON.stringify(langfuse.spans), JSON.stringify(sentry.envelopes.map((e) => e.items.map((i) => (Buffer.isBuffer(i.payload) ? i.payload.toString('utf8') : i.payload)))), raw.join('\n'),
      ];
      const [spansOut, langfuseOut, sentryOut, logsOut] = everything;
      // The content did travel (so the check below is not vacuous)...
      expect(spansOut).toContain('gen_ai.input.messages');
      expect(spansOut).toContain('[REDACTED]');
      expect(spansOut).toContain('[EMAIL]');
      expect(langfuseOut).toContain('[EMAIL]');
      expect(sentryOut).toContain('could not use [REDACTED] for [EMAIL]');
      expect(logsOut).toContain('"input":');
      expect(logsOut).toContain('[EMAIL]');
      // ...but never in clear.
      for (const out of everything) {
        expect(out).not.toContain(API_KEY);
        expect(out).not.toContain(EMAIL);
        expect(out).not.toContain('Abc123Def456');
      }
      expect(spansOut).toContain('Bearer [REDACTED]');
    } finally {
      await app.close();
      await Promise.all([otlp.close(), langfuse.close(), sentry.close()]);
    }
  });

  test('the patterns: known secret formats and e-mails by default, custom patterns, or off', () => {
    const r = new Redactor();
    expect(r.string('key sk-ant-api03-abcdefghijklmnopqrstuv and pk-lf-1234abcd-5678 and sk-lf-99aa88bb77')).toBe('key [REDACTED] and [REDACTED] and [REDACTED]');
    expect(r.string('AKIAIOSFODNN7EXAMPLE ghp_abcdefghijklmnopqrstuvwxyz0123456789 AIzaSyA-abcdefghijklmnopqrstuvwxyz12345')).toBe('[REDACTED] [REDACTED] [REDACTED]');
    expect(r.string('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U')).toBe('token [REDACTED]');
    expect(r.string('Authorization: Basic dXNlcjpwYXNzd29yZA==')).toBe('Authorization: Basic [REDACTED]');
    expect(r.string('write to a.b+c@mail.example.org today')).toBe('write to [EMAIL] today');
    expect(r.string('a plain sentence about desk-lamps and sk-8 skates stays as it is')).toBe('a plain sentence about desk-lamps and sk-8 skates stays as it is');
    const custom = new Redactor({ emails: false, patterns: [/cust-\d{6}/, { pattern: /\+\d{11}/g, replacement: '[PHONE]' }], replacement: '***' });
    expect(custom.string('cust-123456 at +33612345678 or bob@example.com with sk-abcdefghijklmnopqrstu')).toBe('*** at [PHONE] or bob@example.com with ***');
    expect(new Redactor(false).string(`x ${API_KEY}`)).toBe(`x ${API_KEY}`);
    expect(r.value({ nested: [{ key: API_KEY }], n: 1, e: new Error(`bad ${EMAIL}`) })).toEqual({ nested: [{ key: '[REDACTED]' }], n: 1, e: 'Error: bad [EMAIL]' });
  });
});
