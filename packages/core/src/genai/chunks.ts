import { geminiText, readUsage, type LlmUsage } from './usage';

type Obj = Record<string, unknown>;

function obj(value: unknown): Obj | undefined {
  return value !== null && typeof value === 'object' ? (value as Obj) : undefined;
}

/**
 * Accumulates what the chunks of a streamed answer say: OpenAI chat completion chunks (the
 * `stream_options.include_usage` chunk carries the usage), OpenAI responses events
 * (`response.completed` carries it), Anthropic message events (`message_start` has the input
 * usage, `message_delta` the cumulative output), or plain strings.
 */
export class ChunkReader {
  id: string | undefined;
  model: string | undefined;
  usage: LlmUsage | undefined;
  finishReasons: string[] | undefined;
  /** Characters of answer text seen (for the estimate when no usage comes). */
  characters = 0;
  /** The text itself, only kept when content capture is on. */
  text: string | undefined;

  constructor(keepText: boolean) {
    if (keepText) this.text = '';
  }

  read(chunk: unknown): void {
    if (typeof chunk === 'string') {
      this.addText(chunk);
      return;
    }
    const c = obj(chunk);
    if (c === undefined) return;
    const type = c.type;
    if (typeof type === 'string') {
      if (type === 'content_block_delta') {
        const d = obj(c.delta);
        if (typeof d?.text === 'string') this.addText(d.text);
        else if (typeof d?.partial_json === 'string') this.addText(d.partial_json);
        else if (typeof d?.thinking === 'string') this.characters += d.thinking.length;
        return;
      }
      if (type === 'message_start') {
        const m = obj(c.message);
        this.take(m?.id, m?.model);
        this.mergeUsage(readUsage(m?.usage));
        return;
      }
      if (type === 'message_delta') {
        const reason = obj(c.delta)?.stop_reason;
        if (typeof reason === 'string') this.finishReasons = [reason];
        this.mergeUsage(readUsage(c.usage));
        return;
      }
      if (type === 'response.output_text.delta') {
        if (typeof c.delta === 'string') this.addText(c.delta);
        return;
      }
      if (type.startsWith('response.')) {
        const r = obj(c.response);
        if (r === undefined) return;
        this.take(r.id, r.model);
        const usage = readUsage(r.usage);
        if (usage !== undefined) this.usage = usage;
        if (type === 'response.completed') this.finishReasons = ['stop'];
        else if (typeof obj(r.incomplete_details)?.reason === 'string') this.finishReasons = [obj(r.incomplete_details)?.reason as string];
        return;
      }
    }
    if (Array.isArray(c.candidates) || c.usageMetadata !== undefined) {
      this.take(c.responseId, c.modelVersion);
      const first = Array.isArray(c.candidates) ? obj(c.candidates[0]) : undefined;
      const text = geminiText(first);
      if (text !== undefined && text.length > 0) this.addText(text);
      if (typeof first?.finishReason === 'string') this.finishReasons = [first.finishReason];
      const usage = readUsage(c.usageMetadata);
      if (usage !== undefined) this.usage = usage;
      return;
    }
    // OpenAI chat completion chunk (or anything shaped like one).
    this.take(c.id, c.model);
    if (Array.isArray(c.choices)) {
      for (const choice of c.choices) {
        const ch = obj(choice);
        if (ch === undefined) continue;
        const content = obj(ch.delta)?.content ?? ch.text;
        if (typeof content === 'string' && (ch.index === undefined || ch.index === 0)) this.addText(content);
        if (typeof ch.finish_reason === 'string') (this.finishReasons ??= []).push(ch.finish_reason);
      }
    }
    const usage = readUsage(c.usage);
    if (usage !== undefined) this.usage = usage;
  }

  private addText(text: string): void {
    this.characters += text.length;
    if (this.text !== undefined) this.text += text;
  }

  private take(id: unknown, model: unknown): void {
    if (this.id === undefined && typeof id === 'string') this.id = id;
    if (this.model === undefined && typeof model === 'string') this.model = model;
  }

  /** Anthropic splits usage over two events; later non-empty counts win. */
  private mergeUsage(usage: LlmUsage | undefined): void {
    if (usage === undefined) return;
    if (this.usage === undefined) {
      this.usage = usage;
      return;
    }
    const u = this.usage;
    if (usage.outputTokens !== undefined) u.outputTokens = usage.outputTokens;
    // message_delta may repeat input counts; keep the larger (message_start's total is authoritative).
    if (usage.inputTokens !== undefined && (u.inputTokens === undefined || usage.inputTokens > u.inputTokens)) u.inputTokens = usage.inputTokens;
    if (usage.cacheReadTokens !== undefined) u.cacheReadTokens = usage.cacheReadTokens;
    if (usage.cacheCreationTokens !== undefined) u.cacheCreationTokens = usage.cacheCreationTokens;
    if (usage.reasoningTokens !== undefined) u.reasoningTokens = usage.reasoningTokens;
  }
}
