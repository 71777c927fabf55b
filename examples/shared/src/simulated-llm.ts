import { simulatedDelay, speedFromEnv } from './latency';
import { contentWords, countTokens } from './tokens';

/** A chat message, as in OpenAI's chat completions API. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The subset of an OpenAI chat completion request the simulated model understands. */
export interface ChatCompletionRequest {
  model: string;
  messages: ChatMessage[];
  max_tokens?: number;
  temperature?: number;
}

/** An OpenAI-shaped chat completion (what `openai.chat.completions.create` resolves to). */
export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: 'assistant'; content: string };
    finish_reason: 'stop' | 'length';
  }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** Latency profile of the simulated model. */
export interface SimulatedLlmOptions {
  /** Speed factor: delays are divided by it; 0 removes them. Default: `SIM_LLM_SPEED`, else 1. */
  speed?: number;
  /** Time to first token at speed 1. Default 150 ms. */
  timeToFirstTokenMs?: number;
  /** Time per generated token at speed 1. Default 5 ms (200 tokens/s, a small hosted model). */
  msPerToken?: number;
}

// OpenAI's accounting: every message costs a few tokens of framing, and the reply is primed.
const TOKENS_PER_MESSAGE = 3;
const REPLY_PRIMING_TOKENS = 3;
const NO_ANSWER = 'The provided context does not answer this question.';

function hashHex(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16).padStart(8, '0');
}

// A grading prompt (llmscope's judgeEvaluator): the question and the answer between <<< and >>>.
const GRADING = /Question:\n<<<\n([\s\S]*?)\n>>>\n\nAnswer:\n<<<\n([\s\S]*?)\n>>>/;

/** The question of a RAG prompt (its `Question:` line), else the whole text. */
function questionOf(text: string): string {
  return /^Question:\s*(.*)$/m.exec(text)?.[1] ?? text;
}

/**
 * Grades an answer the way a judge model asked for `{"score", "reason"}` would, deterministically:
 * the share of the question's meaningful words the answer covers (0.4 to 1), 0.1 for an answer
 * that says the context does not cover the question.
 */
function grade(question: string, answer: string): string {
  const verdict = (score: number, reason: string): string => JSON.stringify({ score: Math.round(score * 100) / 100, reason });
  if (answer.trim() === '' || answer.includes(NO_ANSWER)) return verdict(0.1, 'The answer does not address the question.');
  // `(not recorded)`: the judge got no prompt messages (a call traced without its `input`).
  const asked = question === '(not recorded)' ? new Set<string>() : new Set(contentWords(questionOf(question)));
  if (asked.size === 0) return verdict(0.7, 'No question to compare with; the answer cites its sources.');
  const said = new Set(contentWords(answer));
  const covered = [...asked].filter((w) => said.has(w)).length;
  return verdict(0.4 + (0.6 * covered) / asked.size, `The answer covers ${covered} of the ${asked.size} key words of the question.`);
}

/**
 * Builds the reply the way an instruction-following model would with a RAG prompt: it reads the
 * context lines tagged with a source id (`[pricing] ...`, `[1] ...`) and the `Question:` line of
 * the last user message and answers with the context sentences that share most words with the
 * question, citing their ids. Asked to grade an answer (a judge's prompt), it replies with a
 * JSON verdict `{"score", "reason"}`.
 */
function compose(messages: readonly ChatMessage[]): string {
  const last = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const grading = GRADING.exec(last);
  if (grading) return grade(grading[1] as string, grading[2] as string);
  const question = questionOf(last);
  const asked = new Set(contentWords(question));
  const candidates: Array<{ sentence: string; source: string; score: number; order: number }> = [];
  for (const line of last.split('\n')) {
    const m = /^\[([\w.:#/-]+)\]\s*(?:[^:]*:\s*)?(.*)$/.exec(line);
    if (!m) continue;
    for (const sentence of (m[2] ?? '').split(/(?<=[.!?])\s+/)) {
      const score = contentWords(sentence).filter((w) => asked.has(w)).length;
      if (score > 0) candidates.push({ sentence, source: m[1] as string, score, order: candidates.length });
    }
  }
  candidates.sort((a, b) => b.score - a.score || a.order - b.order);
  const top = candidates[0];
  if (top === undefined) return NO_ANSWER;
  // A second sentence only when it is nearly as relevant: a model would not pad its answer.
  const best = candidates.slice(0, 2).filter((c) => c.score >= top.score * 0.75);
  return best.map((c) => `${c.sentence} [${c.source}]`).join(' ');
}

/**
 * A deterministic stand-in for a hosted chat model, shaped like the OpenAI client
 * (`llm.chat.completions.create(request)`), so that the examples run with no API key. The same
 * messages always give the same answer and token counts; latency is a time to first token plus
 * a per-token delay, scaled by the speed factor.
 */
export class SimulatedLLM {
  private readonly speed: number;
  private readonly timeToFirstTokenMs: number;
  private readonly msPerToken: number;

  /** The OpenAI-client-shaped entry point. */
  readonly chat = { completions: { create: (request: ChatCompletionRequest): Promise<ChatCompletion> => this.complete(request) } };

  constructor(options: SimulatedLlmOptions = {}) {
    this.speed = options.speed ?? speedFromEnv();
    this.timeToFirstTokenMs = options.timeToFirstTokenMs ?? 150;
    this.msPerToken = options.msPerToken ?? 5;
  }

  /** Answers a chat completion request after a realistic delay. */
  async complete(request: ChatCompletionRequest): Promise<ChatCompletion> {
    const promptTokens = request.messages.reduce((sum, m) => sum + TOKENS_PER_MESSAGE + countTokens(m.content), REPLY_PRIMING_TOKENS);
    let content = compose(request.messages);
    let completionTokens = countTokens(content);
    let finish: 'stop' | 'length' = 'stop';
    if (request.max_tokens !== undefined && completionTokens > request.max_tokens) {
      // Cut at a word boundary until the reply fits, as a model stopped by max_tokens would be.
      const cut = content.split(' ');
      while (cut.length > 1 && countTokens(cut.join(' ')) > request.max_tokens) cut.pop();
      content = cut.join(' ');
      completionTokens = countTokens(content);
      finish = 'length';
    }
    await simulatedDelay(this.timeToFirstTokenMs + this.msPerToken * completionTokens, this.speed);
    return {
      id: `chatcmpl-sim-${hashHex(request.model + JSON.stringify(request.messages))}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: finish }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    };
  }
}
