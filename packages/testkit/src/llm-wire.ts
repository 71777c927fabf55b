/**
 * Response bodies and stream events in the real wire formats of the OpenAI (chat completions,
 * responses, embeddings) and Anthropic (messages) HTTP APIs, as their official SDKs parse them.
 */

/** Token usage a scripted answer reports, as the provider reports it (Anthropic: `input` excludes the cache). */
export interface ScriptedUsage {
  input?: number;
  output?: number;
  /** Input tokens read from the prompt cache. */
  cacheRead?: number;
  /** Input tokens written to the prompt cache (Anthropic). */
  cacheCreation?: number;
  /**
   * Output tokens spent reasoning: part of `output` for OpenAI (`reasoning_tokens`), besides it
   * for Gemini (`thoughtsTokenCount`, not part of `candidatesTokenCount`).
   */
  reasoning?: number;
}

/** What one answer contains. */
export interface AnswerContent {
  id: string;
  model: string;
  text: string;
  /** Pieces the text is streamed in. */
  pieces: string[];
  usage: ScriptedUsage | undefined;
  finishReason: string | undefined;
  created: number;
}

type Json = Record<string, unknown>;

/** Splits `text` into about `n` pieces on word boundaries (each piece keeps its leading space). */
export function splitText(text: string, n: number): string[] {
  const words = text.match(/\s*\S+/g) ?? [text];
  const size = Math.max(1, Math.ceil(words.length / Math.max(1, n)));
  const pieces: string[] = [];
  for (let i = 0; i < words.length; i += size) pieces.push(words.slice(i, i + size).join(''));
  return pieces.length > 0 ? pieces : [''];
}

// ---------------------------------------------------------------- OpenAI chat completions

function chatUsage(u: ScriptedUsage): Json {
  const input = u.input ?? 0;
  const output = u.output ?? 0;
  return {
    prompt_tokens: input,
    completion_tokens: output,
    total_tokens: input + output,
    prompt_tokens_details: { cached_tokens: u.cacheRead ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: u.reasoning ?? 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export function chatCompletion(a: AnswerContent): Json {
  const body: Json = {
    id: a.id,
    object: 'chat.completion',
    created: a.created,
    model: a.model,
    choices: [{ index: 0, message: { role: 'assistant', content: a.text, refusal: null, annotations: [] }, logprobs: null, finish_reason: a.finishReason ?? 'stop' }],
    system_fingerprint: 'fp_testkit',
  };
  if (a.usage !== undefined) body.usage = chatUsage(a.usage);
  return body;
}

/** `data:` payloads of a streamed chat completion, `[DONE]` last. */
export function chatCompletionChunks(a: AnswerContent, includeUsage: boolean): string[] {
  const usageField = includeUsage ? { usage: null } : {};
  const chunk = (choices: Json[]): string => JSON.stringify({ id: a.id, object: 'chat.completion.chunk', created: a.created, model: a.model, system_fingerprint: 'fp_testkit', choices, ...usageField });
  const out = [chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }])];
  for (const piece of a.pieces) out.push(chunk([{ index: 0, delta: { content: piece }, logprobs: null, finish_reason: null }]));
  out.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: a.finishReason ?? 'stop' }]));
  if (includeUsage && a.usage !== undefined) {
    out.push(JSON.stringify({ id: a.id, object: 'chat.completion.chunk', created: a.created, model: a.model, system_fingerprint: 'fp_testkit', choices: [], usage: chatUsage(a.usage) }));
  }
  out.push('[DONE]');
  return out;
}

// ---------------------------------------------------------------- OpenAI responses

function responseObject(a: AnswerContent, done: boolean): Json {
  const body: Json = {
    id: a.id,
    object: 'response',
    created_at: a.created,
    status: done ? 'completed' : 'in_progress',
    model: a.model,
    output: done ? [{ type: 'message', id: `msg_${a.id}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: a.text, annotations: [] }] }] : [],
    parallel_tool_calls: true,
    tool_choice: 'auto',
    tools: [],
    error: null,
    incomplete_details: null,
  };
  if (done && a.usage !== undefined) {
    const input = a.usage.input ?? 0;
    const output = a.usage.output ?? 0;
    body.usage = {
      input_tokens: input,
      input_tokens_details: { cached_tokens: a.usage.cacheRead ?? 0 },
      output_tokens: output,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: input + output,
    };
  }
  return body;
}

export function response(a: AnswerContent): Json {
  return responseObject(a, true);
}

/** `[event, data]` pairs of a streamed response. */
export function responseEvents(a: AnswerContent): [string, string][] {
  let seq = 0;
  const ev = (type: string, data: Json): [string, string] => [type, JSON.stringify({ type, sequence_number: seq++, ...data })];
  const itemId = `msg_${a.id}`;
  const item = (status: string, text: string | undefined): Json => ({ type: 'message', id: itemId, status, role: 'assistant', content: text === undefined ? [] : [{ type: 'output_text', text, annotations: [] }] });
  const part = (text: string): Json => ({ type: 'output_text', text, annotations: [] });
  // The item and content-part events too: the SDKs' stream helpers (responses.stream()) build the
  // output from them.
  const out: [string, string][] = [
    ev('response.created', { response: responseObject(a, false) }),
    ev('response.in_progress', { response: responseObject(a, false) }),
    ev('response.output_item.added', { output_index: 0, item: item('in_progress', undefined) }),
    ev('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: part('') }),
  ];
  for (const piece of a.pieces) out.push(ev('response.output_text.delta', { item_id: itemId, output_index: 0, content_index: 0, delta: piece, logprobs: [] }));
  out.push(ev('response.output_text.done', { item_id: itemId, output_index: 0, content_index: 0, text: a.text, logprobs: [] }));
  out.push(ev('response.content_part.done', { item_id: itemId, output_index: 0, content_index: 0, part: part(a.text) }));
  out.push(ev('response.output_item.done', { output_index: 0, item: item('completed', a.text) }));
  out.push(ev('response.completed', { response: responseObject(a, true) }));
  return out;
}

// ---------------------------------------------------------------- OpenAI embeddings

/** A deterministic unit-ish vector for `input`. */
export function vector(input: string, dimensions: number): number[] {
  let h = 2166136261;
  for (let i = 0; i < input.length; i++) h = Math.imul(h ^ input.charCodeAt(i), 16777619);
  const v: number[] = [];
  for (let i = 0; i < dimensions; i++) {
    h = Math.imul(h ^ (h >>> 13), 0x5bd1e995);
    v.push(((h >>> 0) / 0xffffffff) * 2 - 1);
  }
  return v;
}

export function embeddings(model: string, inputs: string[], dimensions: number, base64: boolean, usage: ScriptedUsage | undefined): Json {
  const data = inputs.map((text, index) => {
    const v = vector(text, dimensions);
    // The SDK asks for base64 (little-endian float32) by default and decodes it.
    const embedding = base64 ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
    return { object: 'embedding', index, embedding };
  });
  const body: Json = { object: 'list', data, model };
  if (usage !== undefined) body.usage = { prompt_tokens: usage.input ?? 0, total_tokens: usage.input ?? 0 };
  return body;
}

// ---------------------------------------------------------------- Anthropic messages

function anthropicUsage(u: ScriptedUsage | undefined, output: number | undefined): Json {
  return {
    input_tokens: u?.input ?? 0,
    cache_creation_input_tokens: u?.cacheCreation ?? 0,
    cache_read_input_tokens: u?.cacheRead ?? 0,
    output_tokens: output ?? u?.output ?? 0,
    service_tier: 'standard',
  };
}

export function message(a: AnswerContent): Json {
  const body: Json = {
    id: a.id,
    type: 'message',
    role: 'assistant',
    model: a.model,
    content: [{ type: 'text', text: a.text }],
    stop_reason: a.finishReason ?? 'end_turn',
    stop_sequence: null,
  };
  body.usage = anthropicUsage(a.usage, undefined);
  return body;
}

/** `[event, data]` pairs of a streamed message (`usage` omitted everywhere when the script says so). */
export function messageEvents(a: AnswerContent): [string, string][] {
  const ev = (type: string, data: Json): [string, string] => [type, JSON.stringify({ type, ...data })];
  const start: Json = { id: a.id, type: 'message', role: 'assistant', model: a.model, content: [], stop_reason: null, stop_sequence: null };
  if (a.usage !== undefined) start.usage = anthropicUsage(a.usage, 1);
  const out: [string, string][] = [ev('message_start', { message: start })];
  out.push(ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }));
  out.push(ev('ping', {}));
  for (const piece of a.pieces) out.push(ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: piece } }));
  out.push(ev('content_block_stop', { index: 0 }));
  const delta: Json = { delta: { stop_reason: a.finishReason ?? 'end_turn', stop_sequence: null } };
  if (a.usage !== undefined) delta.usage = { output_tokens: a.usage.output ?? 0 };
  out.push(ev('message_delta', delta));
  out.push(ev('message_stop', {}));
  return out;
}

// ---------------------------------------------------------------- errors

const OPENAI_ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'invalid_request_error', 403: 'permission_error', 404: 'invalid_request_error', 429: 'rate_limit_error', 500: 'server_error', 503: 'server_error' };
const ANTHROPIC_ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 429: 'rate_limit_error', 500: 'api_error', 529: 'overloaded_error' };

export function openaiError(status: number, message: string): Json {
  return { error: { message, type: OPENAI_ERROR_TYPES[status] ?? 'server_error', param: null, code: status === 401 ? 'invalid_api_key' : status === 429 ? 'rate_limit_exceeded' : null } };
}

export function anthropicError(status: number, message: string): Json {
  return { type: 'error', error: { type: ANTHROPIC_ERROR_TYPES[status] ?? 'api_error', message } };
}
