import { check, func, nonEmptyString, object, positiveInt, ratio, required } from '../config/validate';
import type { LlmCallRecord } from '../genai/record';
import { traceLLM } from '../genai/trace-llm';
import { InvalidEvaluatorOutput, readsContent, type Evaluator, type EvaluatorInput, type EvaluatorOutput } from './evaluator';

/** The built-in rubrics of {@link judgeEvaluator}. Every score is 0–1, 1 the best. */
export type JudgeRubric = 'relevance' | 'groundedness' | 'hallucination' | 'tone';

/**
 * The part of an OpenAI-compatible client a judge uses (the official `openai` SDK, or any client
 * of an OpenAI-compatible server: vLLM, Ollama, LiteLLM, Azure OpenAI, Groq...).
 */
export interface JudgeChatClient {
  chat: {
    completions: {
      create(
        body: { model: string; messages: { role: 'system' | 'user'; content: string }[]; temperature?: number; max_tokens?: number },
        options?: { signal?: AbortSignal },
      ): PromiseLike<unknown>;
    };
  };
}

/** Options of {@link judgeEvaluator}: a rubric, and either `call` or `client` + `model`. */
export interface JudgeEvaluatorOptions {
  /** A built-in rubric, or your own criterion in plain words ("Does the answer quote a price?"). */
  rubric: JudgeRubric | (string & Record<never, never>);
  /** Evaluator name. Default `judge-<rubric>` (`judge` for your own criterion). */
  name?: string;
  /** Score name. Default the rubric (`relevance`, ...), or `judge` for your own criterion. */
  scoreName?: string;
  /**
   * Asks the judge model: gets the prompt, returns its reply text. Use an instrumented client so
   * that the judge's calls are traced and priced (under feature `llmscope.judge`).
   */
  call?: (prompt: string, signal: AbortSignal) => Promise<string>;
  /** An OpenAI-compatible client (instead of `call`); its calls are traced and priced by llmscope. */
  client?: JudgeChatClient;
  /** The judge model, with `client`. */
  model?: string;
  /** `gen_ai.provider.name` of the judge's calls, with `client`. Default `openai`. */
  provider?: string;
  /** Scores below it also report `failureMode`. Default 0.5. */
  threshold?: number;
  /** Failure mode of a low score. Default: `off_topic` for relevance, `hallucination` for groundedness and hallucination, none otherwise. */
  failureMode?: string;
  /** Share of the calls judged, 0–1. Default 1 (judges cost money: a sample such as 0.05 is usual). */
  sampleRate?: number;
  /** Longest judge run, milliseconds. Default `evaluations.timeoutMs`. */
  timeoutMs?: number;
  /** Which calls to judge (on top of: successful, with a captured answer). */
  when?: (record: LlmCallRecord) => boolean;
  /** Longest judge reply, tokens (with `client`). Default 300. */
  maxTokens?: number;
}

const CRITERIA: Record<JudgeRubric, { criterion: string; best: string; worst: string; failureMode?: string; documents: boolean }> = {
  relevance: {
    criterion: 'Relevance: does the answer address the question that was asked?',
    best: 'the answer fully and directly addresses the question', worst: 'the answer is off topic', failureMode: 'off_topic', documents: false,
  },
  groundedness: {
    criterion: 'Groundedness: is every claim in the answer supported by the retrieved documents?',
    best: 'every claim is supported by the documents', worst: 'the answer is not supported by the documents at all', failureMode: 'hallucination', documents: true,
  },
  hallucination: {
    criterion: 'Hallucination: does the answer invent facts, sources or details that are not in the documents (when given) or are false?',
    best: 'nothing is invented', worst: 'the answer is mostly invented', failureMode: 'hallucination', documents: true,
  },
  tone: {
    criterion: 'Tone: is the answer polite, professional and appropriate for a customer-facing assistant?',
    best: 'the tone is entirely appropriate', worst: 'the tone is rude, inappropriate or unprofessional', documents: false,
  },
};

const KEYS = ['rubric', 'name', 'scoreName', 'call', 'client', 'model', 'provider', 'threshold', 'failureMode', 'sampleRate', 'timeoutMs', 'when', 'maxTokens'] as const;
const MAX_REASON = 500;
const MAX_DOCUMENT_TEXT = 4000;

function isRubric(value: string): value is JudgeRubric {
  return Object.prototype.hasOwnProperty.call(CRITERIA, value);
}

/** The judge's prompt for one call. Exported for tests and for apps that want to see it. */
export function judgePrompt(rubric: string, input: Pick<EvaluatorInput, 'question' | 'answer' | 'documents'>): string {
  const known = isRubric(rubric) ? CRITERIA[rubric] : undefined;
  const lines = ['You are grading the answer of an AI assistant. Be strict and fair.', '', `Criterion: ${known?.criterion ?? rubric}`, ''];
  if (input.documents.length > 0 && (known === undefined || known.documents)) {
    lines.push('Retrieved documents:');
    let room = MAX_DOCUMENT_TEXT;
    for (const d of input.documents) {
      if (room <= 0) break;
      const text = d.text.length > room ? d.text.slice(0, room) : d.text;
      room -= text.length;
      lines.push(`[${d.id ?? '-'}] ${text}`);
    }
    lines.push('');
  }
  lines.push('Question:', '<<<', input.question ?? '(not recorded)', '>>>', '', 'Answer:', '<<<', input.answer ?? '', '>>>', '');
  lines.push(`Reply with only a JSON object: {"score": <a number from 0 to 1>, "reason": "<one short sentence>"}. 1 means ${known?.best ?? 'the criterion is fully met'}; 0 means ${known?.worst ?? 'it is not met at all'}.`);
  return lines.join('\n');
}

function scoreOf(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : typeof value === 'boolean' ? (value ? 1 : 0) : Number.NaN;
  return Number.isFinite(n) && n >= 0 && n <= 1 ? n : undefined;
}

const SCORE_IN_TEXT = /\bscore\b["']?\s*(?:is|[:=])?\s*(-?\d+(?:\.\d+)?)/i;
const FRACTION = /(\d+(?:\.\d+)?)\s*(?:\/|out of)\s*(\d+)/i;
const NUMBER = /-?\d+(?:\.\d+)?/g;

/**
 * Reads a judge's verdict: a JSON object `{score, reason}` (also in a code fence or with prose
 * around it; `value` or `rating` for `score`), else `score: 0.8`, `8/10` or a lone number in the
 * text. Scores must be within 0–1 (fractions are divided out); anything else is `undefined`.
 */
export function parseVerdict(text: string): { score: number; reason: string | undefined } | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start !== -1 && end > start) {
    try {
      const o = JSON.parse(text.slice(start, end + 1)) as Record<string, unknown>;
      if (o !== null && typeof o === 'object') {
        const raw = o.score ?? o.value ?? o.rating;
        if (raw !== undefined) {
          const score = scoreOf(raw);
          const why = o.reason ?? o.explanation ?? o.rationale;
          return score === undefined ? undefined : { score, reason: typeof why === 'string' ? why.slice(0, MAX_REASON) : undefined };
        }
      }
    } catch {
      // Not JSON after all: read the text.
    }
  }
  const reason = text.trim().slice(0, MAX_REASON) || undefined;
  const named = SCORE_IN_TEXT.exec(text);
  if (named !== null) {
    const score = scoreOf(named[1]);
    return score === undefined ? undefined : { score, reason };
  }
  const fraction = FRACTION.exec(text);
  if (fraction !== null) {
    const d = Number(fraction[2]);
    const score = d > 0 ? scoreOf(Number(fraction[1]) / d) : undefined;
    return score === undefined ? undefined : { score, reason };
  }
  const numbers = text.match(NUMBER);
  if (numbers?.length === 1) {
    const score = scoreOf(numbers[0]);
    return score === undefined ? undefined : { score, reason };
  }
  return undefined;
}

function replyText(reply: unknown): string | undefined {
  const choices = (reply as { choices?: unknown } | null)?.choices;
  const content = Array.isArray(choices) ? (choices[0] as { message?: { content?: unknown } } | undefined)?.message?.content : undefined;
  return typeof content === 'string' ? content : undefined;
}

/**
 * An LLM-as-judge evaluator: asks a model to grade each sampled call against a rubric
 * (relevance, groundedness in the retrieved documents, hallucination, tone, or your own
 * criterion) and records its verdict as a `judge` score in 0–1 with the reason as comment; a
 * score below `threshold` also reports the rubric's failure mode. The judge's own calls run under
 * feature `llmscope.judge` (traced and priced apart from the app's, never evaluated themselves).
 * A verdict that cannot be read counts as `invalid_output`. Needs `llm.captureContent` (the
 * judge reads the question and answer); groundedness also needs retrieval steps declared with
 * `retrievalAttributes()` and skips calls without documents.
 *
 * @example
 * evaluations: { evaluators: [judgeEvaluator({ rubric: 'relevance', client: new OpenAI(), model: 'gpt-4o-mini', sampleRate: 0.05 })] }
 */
export function judgeEvaluator(options: JudgeEvaluatorOptions): Evaluator {
  const at = 'judgeEvaluator';
  const o = object(at, options, KEYS) ?? required(at, 'an object such as { rubric: "relevance", client, model }');
  const rubric = nonEmptyString(`${at}.rubric`, o.rubric, { expected: 'relevance, groundedness, hallucination, tone, or your own criterion' }) ?? required(`${at}.rubric`, 'relevance, groundedness, hallucination, tone, or your own criterion');
  const known = isRubric(rubric) ? CRITERIA[rubric] : undefined;
  const call = func<(prompt: string, signal: AbortSignal) => Promise<string>>(`${at}.call`, o.call, '(prompt, signal) => Promise<string>');
  const client = check(`${at}.client`, o.client, (v): v is JudgeChatClient => typeof (v as JudgeChatClient | null)?.chat?.completions?.create === 'function', 'an OpenAI-compatible client (client.chat.completions.create)');
  const model = nonEmptyString(`${at}.model`, o.model);
  if (call === undefined && client === undefined) required(`${at}.call`, 'a function (prompt, signal) => Promise<string>, or `client` and `model`');
  if (call === undefined && model === undefined) required(`${at}.model`, 'the judge model, with `client`');
  const provider = nonEmptyString(`${at}.provider`, o.provider) ?? 'openai';
  const threshold = ratio(`${at}.threshold`, o.threshold) ?? 0.5;
  const failureMode = nonEmptyString(`${at}.failureMode`, o.failureMode) ?? known?.failureMode;
  const maxTokens = positiveInt(`${at}.maxTokens`, o.maxTokens) ?? 300;
  const name = nonEmptyString(`${at}.name`, o.name) ?? (known === undefined ? 'judge' : `judge-${rubric}`);
  const scoreName = nonEmptyString(`${at}.scoreName`, o.scoreName) ?? (known === undefined ? 'judge' : rubric);
  const when = func<(record: LlmCallRecord) => boolean>(`${at}.when`, o.when, '(record) => boolean');
  const needsDocuments = rubric === 'groundedness';

  const ask = call ?? (async (prompt: string, signal: AbortSignal): Promise<string> => {
    const messages = [{ role: 'user' as const, content: prompt }];
    const judgeModel = model as string;
    const reply = await traceLLM({ model: judgeModel, provider, operation: 'chat', temperature: 0, maxTokens, input: messages },
      () => (client as JudgeChatClient).chat.completions.create({ model: judgeModel, messages, temperature: 0, max_tokens: maxTokens }, { signal }));
    const text = replyText(reply);
    if (text === undefined) throw new InvalidEvaluatorOutput('the judge answered no text');
    return text;
  });

  const evaluator: Evaluator = {
    name,
    source: 'judge',
    // Without the answer there is nothing to judge: such calls are not even queued.
    when: (record) => record.outputMessages !== undefined && (when === undefined || when(record)),
    async evaluate(input): Promise<EvaluatorOutput> {
      if (needsDocuments && input.documents.length === 0) return undefined;
      const reply = await ask(judgePrompt(rubric, input), input.signal);
      const verdict = typeof reply === 'string' ? parseVerdict(reply) : undefined;
      if (verdict === undefined) throw new InvalidEvaluatorOutput(`unreadable verdict: ${String(reply).slice(0, 100)}`);
      const result = { name: scoreName, value: verdict.score, comment: verdict.reason };
      return verdict.score < threshold && failureMode !== undefined ? { ...result, failureMode } : result;
    },
  };
  const sampleRate = ratio(`${at}.sampleRate`, o.sampleRate);
  if (sampleRate !== undefined) evaluator.sampleRate = sampleRate;
  const timeoutMs = positiveInt(`${at}.timeoutMs`, o.timeoutMs, 'a positive integer (milliseconds)');
  if (timeoutMs !== undefined) evaluator.timeoutMs = timeoutMs;
  return readsContent(evaluator);
}
