import { check, nonEmptyString, nonNegativeNumber, object, oneOf, required } from '../config/validate';
import type { StandardSchemaV1 } from '../genai/validate-output';
import { readsContent, type Evaluator, type EvaluatorOutput } from './evaluator';

/*
 * Built-in code evaluators: cheap checks of the answer, no model involved. Each is a plain
 * Evaluator (sampleRate, timeoutMs and when can be set on the returned object).
 */

const STANDARD_SCHEMA = 'a Standard Schema (zod 3.24+/4, Valibot, ArkType, ...)';
const SCHEMA_KEYS = ['schema', 'name', 'json', 'failureMode'] as const;

/** Options of {@link schemaEvaluator}. */
export interface SchemaEvaluatorOptions {
  /** A Standard Schema (zod 3.24+/4, Valibot, ArkType, ...) the answer must satisfy. */
  schema: StandardSchemaV1;
  /** Evaluator and score name. Default `schema`. */
  name?: string;
  /** Parse the answer as JSON first. Default true. */
  json?: boolean;
  /** Failure mode of a non-compliant answer. Default `format_error`. */
  failureMode?: string;
}

/**
 * Output schema compliance: `true` when the answer (parsed as JSON by default) satisfies the
 * schema, else `false` with the first issues as comment and failure mode `format_error`. The
 * same check as `validateOutput()`, without its log line and Sentry event (the app did not ask).
 */
export function schemaEvaluator(options: SchemaEvaluatorOptions): Evaluator {
  const o = object('schemaEvaluator', options, SCHEMA_KEYS) ?? {};
  const schema = check('schemaEvaluator.schema', o.schema, (v): v is StandardSchemaV1 => typeof (v as StandardSchemaV1 | null)?.['~standard']?.validate === 'function', STANDARD_SCHEMA)
    ?? required('schemaEvaluator.schema', STANDARD_SCHEMA);
  const name = nonEmptyString('schemaEvaluator.name', o.name) ?? 'schema';
  const json = check('schemaEvaluator.json', o.json, (v): v is boolean => typeof v === 'boolean', 'true or false') ?? true;
  const failureMode = nonEmptyString('schemaEvaluator.failureMode', o.failureMode) ?? 'format_error';
  return readsContent({
    name,
    when: (record) => record.outputMessages !== undefined,
    async evaluate({ answer }): Promise<EvaluatorOutput> {
      if (answer === undefined) return undefined;
      let value: unknown = answer;
      if (json) {
        try {
          value = JSON.parse(answer);
        } catch (error) {
          return { value: false, comment: `not valid JSON: ${error instanceof Error ? error.message : String(error)}`, failureMode };
        }
      }
      const result = await schema['~standard'].validate(value);
      if (result.issues === undefined) return { value: true };
      const issues = result.issues.slice(0, 5).map((i) => {
        const path = i.path?.map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
        return path ? `${path}: ${i.message}` : i.message;
      });
      return { value: false, comment: issues.join('; '), failureMode };
    },
  });
}

const CITATION_KEYS = ['name', 'pattern', 'failureMode'] as const;

/** Options of {@link citationEvaluator}. */
export interface CitationEvaluatorOptions {
  /** Evaluator and score name. Default `citation_accuracy`. */
  name?: string;
  /** How a citation looks; its first group is the source id. Default `[doc-1]`-style: `/\[([\w.:#/-]+)\]/g`. */
  pattern?: RegExp;
  /** Failure mode when a cited id is not among the retrieved documents. Default `hallucination`. */
  failureMode?: string;
}

/**
 * Citation accuracy: the share of source ids cited in the answer (`[doc-1]`) that are among the
 * ids of the documents the request's retrieval steps returned; below 1, failure mode
 * `hallucination` (an invented source). No score when the answer cites nothing or no document
 * with an id was captured (needs `llm.captureContent` and `retrievalAttributes()` steps).
 */
export function citationEvaluator(options: CitationEvaluatorOptions = {}): Evaluator {
  const o = object('citationEvaluator', options, CITATION_KEYS) ?? {};
  const name = nonEmptyString('citationEvaluator.name', o.name) ?? 'citation_accuracy';
  const given = check('citationEvaluator.pattern', o.pattern, (v): v is RegExp => v instanceof RegExp, 'a regular expression whose first group is the id, such as /\\[([\\w-]+)\\]/g');
  // One global copy, compiled once: matchAll needs the g flag.
  const pattern = new RegExp(given?.source ?? '\\[([\\w.:#/-]+)\\]', given === undefined ? 'g' : given.flags.includes('g') ? given.flags : `${given.flags}g`);
  const failureMode = nonEmptyString('citationEvaluator.failureMode', o.failureMode) ?? 'hallucination';
  return readsContent({
    name,
    when: (record) => record.outputMessages !== undefined,
    evaluate({ answer, documents }): EvaluatorOutput {
      if (answer === undefined) return undefined;
      const known = new Set<string>();
      for (const d of documents) if (d.id !== undefined) known.add(d.id);
      if (known.size === 0) return undefined;
      const cited = new Set<string>();
      for (const m of answer.matchAll(pattern)) if (m[1] !== undefined) cited.add(m[1]);
      if (cited.size === 0) return undefined;
      const missing = [...cited].filter((id) => !known.has(id));
      const value = (cited.size - missing.length) / cited.size;
      return missing.length === 0 ? { value } : { value, comment: `not retrieved: ${missing.slice(0, 10).join(', ')}`, failureMode };
    },
  });
}

const LENGTH_KEYS = ['name', 'min', 'max', 'unit', 'failureMode'] as const;

/** Options of {@link lengthEvaluator}. */
export interface LengthEvaluatorOptions {
  /** Evaluator and score name. Default `answer_length`. */
  name?: string;
  /** Shortest acceptable answer. Default 1. */
  min?: number;
  /** Longest acceptable answer. Default: no bound. */
  max?: number;
  /** Count characters or words. Default `characters`. */
  unit?: 'characters' | 'words';
  /** Failure mode of an answer out of bounds. Default none. */
  failureMode?: string;
}

const WORD = /\S+/g;

/** Answer length: `true` when the answer's length is within `min`–`max`, else `false` with the length as comment. */
export function lengthEvaluator(options: LengthEvaluatorOptions = {}): Evaluator {
  const o = object('lengthEvaluator', options, LENGTH_KEYS) ?? {};
  const name = nonEmptyString('lengthEvaluator.name', o.name) ?? 'answer_length';
  const min = nonNegativeNumber('lengthEvaluator.min', o.min) ?? 1;
  const max = nonNegativeNumber('lengthEvaluator.max', o.max) ?? Number.POSITIVE_INFINITY;
  const unit = oneOf('lengthEvaluator.unit', o.unit, ['characters', 'words'] as const) ?? 'characters';
  const failureMode = nonEmptyString('lengthEvaluator.failureMode', o.failureMode);
  return readsContent({
    name,
    when: (record) => record.outputMessages !== undefined,
    evaluate({ answer }): EvaluatorOutput {
      if (answer === undefined) return undefined;
      const length = unit === 'words' ? (answer.match(WORD)?.length ?? 0) : answer.length;
      if (length >= min && length <= max) return { value: true };
      const result = { value: false, comment: `${length} ${unit}, expected ${min} to ${max}` };
      return failureMode === undefined ? result : { ...result, failureMode };
    },
  });
}

const REFUSAL_KEYS = ['name', 'phrases', 'failureMode'] as const;

/** Phrases of a model declining to answer (apostrophes normalised, case ignored). */
export const REFUSAL_PHRASES: readonly string[] = [
  "i can't help with", 'i cannot help with', "i can't assist", 'i cannot assist', "i'm unable to", 'i am unable to',
  "i'm not able to", 'i am not able to', "i can't provide", 'i cannot provide', "i won't be able to", 'i must decline',
  "i'm sorry, but i can", "i'm sorry, but i cannot", 'as an ai language model', "i don't have access to", "i can't answer", 'i cannot answer',
];

const CURLY_APOSTROPHE = /[\u2018\u2019]/g;

/** Options of {@link refusalEvaluator}. */
export interface RefusalEvaluatorOptions {
  /** Evaluator and score name. Default `refusal`. */
  name?: string;
  /** Phrases that mark a refusal (lower case). Default {@link REFUSAL_PHRASES}. */
  phrases?: readonly string[];
  /** Failure mode of a refusal. Default `refusal`. */
  failureMode?: string;
}

/**
 * Refusal detection: `true` when the answer declines (a common refusal phrase), with failure mode
 * `refusal`; `false` otherwise. The mean of this score is the refusal rate.
 */
export function refusalEvaluator(options: RefusalEvaluatorOptions = {}): Evaluator {
  const o = object('refusalEvaluator', options, REFUSAL_KEYS) ?? {};
  const name = nonEmptyString('refusalEvaluator.name', o.name) ?? 'refusal';
  const phrases = check('refusalEvaluator.phrases', o.phrases, (v): v is string[] => Array.isArray(v) && v.length > 0 && v.every((p) => typeof p === 'string' && p.length > 0), 'a non-empty array of phrases') ?? REFUSAL_PHRASES;
  const lower = phrases.map((p) => p.toLowerCase());
  const failureMode = nonEmptyString('refusalEvaluator.failureMode', o.failureMode) ?? 'refusal';
  return readsContent({
    name,
    when: (record) => record.outputMessages !== undefined,
    evaluate({ answer }): EvaluatorOutput {
      if (answer === undefined) return undefined;
      const text = answer.toLowerCase().replace(CURLY_APOSTROPHE, "'");
      const phrase = lower.find((p) => text.includes(p));
      return phrase === undefined ? { value: false } : { value: true, comment: `"${phrase}"`, failureMode };
    },
  });
}
