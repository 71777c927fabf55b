/**
 * Response bodies and SSE chunks in the real wire format of the Gemini API (`generateContent`,
 * `streamGenerateContent?alt=sse`, `embedContent`, `batchEmbedContents`), as `@google/genai`
 * parses them.
 */
import { vector, type AnswerContent, type ScriptedUsage } from './llm-wire';

type Json = Record<string, unknown>;

/** `usageMetadata`: the prompt count includes the cached part; thoughts are apart from candidates. */
function usageMetadata(u: ScriptedUsage, final: boolean): Json {
  const prompt = u.input ?? 0;
  const meta: Json = { promptTokenCount: prompt, totalTokenCount: prompt };
  if (u.cacheRead !== undefined && u.cacheRead > 0) meta.cachedContentTokenCount = u.cacheRead;
  if (!final) return meta;
  const candidates = u.output ?? 0;
  const thoughts = u.reasoning ?? 0;
  meta.candidatesTokenCount = candidates;
  if (thoughts > 0) meta.thoughtsTokenCount = thoughts;
  meta.totalTokenCount = prompt + candidates + thoughts;
  return meta;
}

function chunk(a: AnswerContent, text: string, finish: boolean): Json {
  const candidate: Json = { content: { parts: [{ text }], role: 'model' }, index: 0 };
  if (finish) candidate.finishReason = a.finishReason ?? 'STOP';
  const body: Json = { candidates: [candidate], modelVersion: a.model, responseId: a.id };
  if (a.usage !== undefined) body.usageMetadata = usageMetadata(a.usage, finish);
  return body;
}

/** A `GenerateContentResponse`. */
export function generateContent(a: AnswerContent): Json {
  return chunk(a, a.text, true);
}

/** `data:` payloads of `streamGenerateContent?alt=sse`: one chunk per piece, the last with the finish reason and full usage. */
export function generateContentChunks(a: AnswerContent): string[] {
  return a.pieces.map((piece, i) => JSON.stringify(chunk(a, piece, i === a.pieces.length - 1)));
}

function texts(content: unknown): string {
  const parts = (content as { parts?: unknown } | undefined)?.parts;
  if (!Array.isArray(parts)) return '';
  return parts.map((p) => String((p as { text?: unknown }).text ?? '')).join('');
}

/** `embedContent` (`{ content }`) or `batchEmbedContents` (`{ requests: [{ content }] }`). */
export function embedContents(body: Json, dimensions: number): Json {
  if (Array.isArray(body.requests)) {
    return { embeddings: body.requests.map((r) => ({ values: vector(texts((r as Json).content), dimensions) })) };
  }
  return { embedding: { values: vector(texts(body.content), dimensions) } };
}

const STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};

/** A Google API error body. */
export function geminiError(status: number, message: string): Json {
  return { error: { code: status, message, status: STATUS[status] ?? 'UNKNOWN' } };
}
