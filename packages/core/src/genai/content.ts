/**
 * Prompt and completion content in the GenAI semantic-convention shape
 * (`gen_ai.input.messages` / `gen_ai.output.messages`: JSON arrays of `{ role, parts }`). Only
 * used when `llm.captureContent` is on. Each text part is clipped on its own so that the
 * attribute stays valid JSON.
 */

type Obj = Record<string, unknown>;

interface Part {
  type: string;
  content?: string;
}

/** How far back a clip looks for the start of the word the limit falls in. */
const WORD_LOOKBACK = 256;

function isSpace(code: number): boolean {
  return code === 32 || code === 10 || code === 13 || code === 9;
}

/**
 * `text` cut to `max` characters, before the word the limit falls in: half a secret (the first
 * characters of a key, the local part of an e-mail address) would no longer match a redaction
 * pattern and would leave the process in clear. A word longer than {@link WORD_LOOKBACK} is cut
 * where the limit falls.
 */
function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = max;
  if (!isSpace(text.charCodeAt(max)) && !isSpace(text.charCodeAt(max - 1))) {
    const stop = Math.max(0, max - WORD_LOOKBACK);
    for (let i = max - 1; i > stop; i--) {
      if (isSpace(text.charCodeAt(i - 1))) {
        cut = i;
        break;
      }
    }
  }
  return `${text.slice(0, cut)}…`;
}

/** A string stands for `{ [key]: string }` (a text part, a user message); other non-objects for nothing. */
function asObject(value: unknown, key: string): Obj | undefined {
  if (typeof value === 'string') return { [key]: value };
  return value !== null && typeof value === 'object' ? (value as Obj) : undefined;
}

function part(value: unknown, max: number): Part | undefined {
  const p = asObject(value, 'text');
  if (p === undefined) return undefined;
  // Images, files and tool calls keep their type only: no payloads in spans.
  if (typeof p.text === 'string') return { type: 'text', content: clip(p.text, max) };
  return { type: typeof p.type === 'string' ? p.type : 'text' };
}

function parts(content: unknown, max: number): Part[] {
  const list = Array.isArray(content) ? content : typeof content === 'string' ? [content] : [];
  const out: Part[] = [];
  for (const item of list) {
    const p = part(item, max);
    if (p !== undefined) out.push(p);
  }
  return out;
}

/**
 * Serialises chat input (OpenAI `messages` or `input`, Anthropic `messages`, plus a system prompt)
 * for `gen_ai.input.messages`; `undefined` when there is nothing recognisable.
 */
export function inputMessages(messages: unknown, system: unknown, max: number): string | undefined {
  const out: { role: string; parts: Part[] }[] = [];
  if (system !== undefined) {
    const p = parts(system, max);
    if (p.length > 0) out.push({ role: 'system', parts: p });
  }
  const list = Array.isArray(messages) ? messages : typeof messages === 'string' ? [messages] : [];
  for (const m of list) {
    const msg = asObject(m, 'content');
    if (msg !== undefined) out.push({ role: typeof msg.role === 'string' ? msg.role : 'user', parts: parts(msg.content, max) });
  }
  if (out.length === 0) return undefined;
  try {
    return JSON.stringify(out);
  } catch {
    return undefined;
  }
}

/** Serialises the answer text for `gen_ai.output.messages`. */
export function outputMessages(text: string, finishReason: string | undefined, max: number): string {
  const message: Obj = { role: 'assistant', parts: [{ type: 'text', content: clip(text, max) }] };
  if (finishReason !== undefined) message.finish_reason = finishReason;
  return JSON.stringify([message]);
}
