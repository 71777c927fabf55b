import type { LlmCallOptions } from '../call';
import { get, numberParam, wrapMethod, type Obj } from './common';

/** Options of {@link instrumentGoogleGenAI}. */
export interface InstrumentGoogleGenAIOptions {
  /**
   * `gen_ai.provider.name` of the calls. Default `gcp.vertex_ai` for a client made with
   * `vertexai: true`, else `gcp.gemini` (the Gemini Developer API).
   */
  provider?: string;
}

/** `models/gemini-2.5-flash` (the API's resource name) → `gemini-2.5-flash`, as priced. */
function modelOf(params: Obj): string {
  const model = params.model;
  if (typeof model !== 'string' || model.length === 0) return 'unknown';
  return model.startsWith('models/') ? model.slice('models/'.length) : model;
}

/**
 * Instruments a `@google/genai` client (`new GoogleGenAI(...)`) in place and returns it, typed as
 * given: every `models.generateContent`, `models.generateContentStream` and `models.embedContent`
 * becomes an LLM call (span, metrics, cost) as with `traceLLM`: operation `generate_content`
 * (the GenAI conventions' name for Gemini) or `embeddings`, usage read from `usageMetadata`
 * (cached content priced at the cache rate, thoughts counted as output and reported as reasoning
 * tokens), streams observed chunk by chunk (time to first chunk, usage from the last chunk), and
 * errors typed (`ApiError`). Calling it twice is harmless.
 *
 * @example
 * const ai = instrumentGoogleGenAI(new GoogleGenAI({ apiKey: process.env.GEMINI_API_KEY }));
 */
export function instrumentGoogleGenAI<T extends object>(client: T, options: InstrumentGoogleGenAIOptions = {}): T {
  const c = client as unknown as Obj;
  const provider = options.provider ?? (get(c, 'vertexai') === true ? 'gcp.vertex_ai' : 'gcp.gemini');
  const models = get(c, 'models');
  const generate = (p: Obj): LlmCallOptions => {
    const config = get(p, 'config');
    return {
      model: modelOf(p),
      provider,
      operation: 'generate_content',
      temperature: numberParam(get(config, 'temperature')),
      maxTokens: numberParam(get(config, 'maxOutputTokens')),
      topP: numberParam(get(config, 'topP')),
      input: p.contents,
      system: get(config, 'systemInstruction'),
    };
  };
  wrapMethod(models, 'generateContent', generate);
  wrapMethod(models, 'generateContentStream', generate);
  wrapMethod(models, 'embedContent', (p) => ({ model: modelOf(p), provider, operation: 'embeddings', input: p.contents }));
  return client;
}
