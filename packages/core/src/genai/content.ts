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

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function parts(content: unknown, max: number): Part[] {
  if (typeof content === 'string') return [{ type: 'text', content: clip(content, max) }];
  if (!Array.isArray(content)) return [];
  const out: Part[] = [];
  for (const p of content) {
    if (typeof p === 'string') {
      out.push({ type: 'text', content: clip(p, max) });
      continue;
    }
    if (p === null || typeof p !== 'object') continue;
    const part = p as Obj;
    const text = typeof part.text === 'string' ? part.text : undefined;
    const type = typeof part.type === 'string' ? part.type : 'text';
    // Images, files and tool calls keep their type only: no payloads in spans.
    out.push(text !== undefined ? { type: 'text', content: clip(text, max) } : { type });
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
  if (typeof messages === 'string') out.push({ role: 'user', parts: parts(messages, max) });
  else if (Array.isArray(messages)) {
    for (const m of messages) {
      if (typeof m === 'string') {
        out.push({ role: 'user', parts: parts(m, max) });
        continue;
      }
      if (m === null || typeof m !== 'object') continue;
      const msg = m as Obj;
      out.push({ role: typeof msg.role === 'string' ? msg.role : 'user', parts: parts(msg.content, max) });
    }
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
