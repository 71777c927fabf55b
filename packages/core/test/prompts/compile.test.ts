import { makePrompt, type ChatPrompt, type TextPrompt } from '../../src/prompts/prompt';

const text = (prompt: string): TextPrompt => makePrompt({ name: 't', version: '1', prompt }, 'local') as TextPrompt;

describe('compile()', () => {
  test('replaces {{variables}} without HTML escaping, Mustache-style', () => {
    const p = text('Q: {{question}} / {{ spaced }} / {{{triple}}} / {{&amp}} / {{user.name}}');
    expect(p.variables).toEqual(['question', 'spaced', 'triple', 'amp', 'user']);
    expect(p.compile({ question: '<b>"1 & 2"</b>', spaced: 3, triple: true, amp: '&', user: { name: 'Ada' } }))
      .toBe('Q: <b>"1 & 2"</b> / 3 / true / & / Ada');
  });

  test('a missing variable renders empty; objects as JSON; sections, comments and unclosed tags stay as written', () => {
    expect(text('a{{missing}}b').compile({})).toBe('ab');
    expect(text('a{{missing}}b').compile()).toBe('ab');
    expect(text('{{list}}').compile({ list: [1, 2] })).toBe('[1,2]');
    expect(text('{{#items}}x{{/items}} {{! note}} {{v}} {{open').compile({ v: 1 })).toBe('{{#items}}x{{/items}} {{! note}} 1 {{open');
    expect(text('no variables').compile({ x: 1 })).toBe('no variables');
  });

  test('each call starts from the template: compiling twice gives independent results', () => {
    const p = text('Hello {{name}}!');
    expect(p.compile({ name: 'a' })).toBe('Hello a!');
    expect(p.compile({ name: 'b' })).toBe('Hello b!');
  });

  test('chat prompts compile every message; placeholders take the messages given for them', () => {
    const p = makePrompt({
      name: 'c', version: '2', prompt: [
        { role: 'system', content: 'You answer about {{topic}}.' },
        { type: 'placeholder', name: 'history' },
        { role: 'user', content: '{{question}}' },
      ],
    }, 'local') as ChatPrompt;
    expect(p.type).toBe('chat');
    expect(p.variables).toEqual(['topic', 'question']);
    expect(p.compile({ topic: 'refunds', question: 'How long?' }, { history: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }] })).toEqual([
      { role: 'system', content: 'You answer about refunds.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello' },
      { role: 'user', content: 'How long?' },
    ]);
    expect(p.compile({ topic: 't', question: 'q' })).toHaveLength(2);
  });
});
