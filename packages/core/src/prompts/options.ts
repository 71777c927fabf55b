import { configError, entry, field, firstSet, envVar, httpUrl, nonEmptyString, nonNegativeNumber, object, positiveNumber, record, section, string } from '../config/validate';
import type { ResolvedExporters } from '../exporters/options';
import { weightsProblem } from './experiment';
import type { LangfusePromptConfig } from './langfuse';
import { checkDefinition, LocalSource } from './local';
import type { ChatMessage, ChatPlaceholder, PromptData } from './prompt';
import { resolvePromptGuards, type PromptGuardsOptions, type ResolvedPromptGuards } from './guard/options';
import { resolveShadows, type ResolvedShadow, type ShadowOptions } from './shadow';

/** A prompt version given in code (`prompts.local`). */
export interface PromptDefinition {
  /** The prompt's name, such as `rag-answer`. */
  name: string;
  /** Its version, such as `v3` (numbers become strings). */
  version: string | number;
  /** A text, or chat messages (`{ role, content }`, and Langfuse-style `{ type: 'placeholder', name }`). */
  prompt: string | (ChatMessage | ChatPlaceholder)[];
  /** `text` or `chat`; inferred from `prompt` when absent. */
  type?: 'text' | 'chat';
  /** Model settings and anything else: `{ model: 'gpt-4o-mini', temperature: 0.2 }`. */
  config?: Record<string, unknown>;
  /** Labels of this version: `['production']`, `['staging']`. */
  labels?: string[];
}

/** Langfuse prompt management (`prompts.langfuse`). Keys and URL default to the Langfuse exporter's, then the environment. */
export interface LangfusePromptsOptions {
  /** Default: `exporters.langfuse.publicKey`, else `LANGFUSE_PUBLIC_KEY`. */
  publicKey?: string;
  /** Default: `exporters.langfuse.secretKey`, else `LANGFUSE_SECRET_KEY`. */
  secretKey?: string;
  /** Default: `exporters.langfuse.baseUrl`, else `LANGFUSE_BASE_URL`, else `https://cloud.langfuse.com`. */
  baseUrl?: string;
  /** How long a fetched prompt is served without asking Langfuse again, seconds. Default 60 (as `@langfuse/client`). */
  cacheTtlSeconds?: number;
  /** Timeout of one fetch, ms. Default 2000. */
  fetchTimeoutMs?: number;
  /** Retries of one fetch. Default 0 (a request waiting on a cold cache should not wait for retries). */
  maxRetries?: number;
  /** After a failed fetch, how long the stale or fallback prompt is served before Langfuse is asked again, seconds. Default 10. */
  retryAfterSeconds?: number;
}

/** An A/B experiment on one prompt (`prompts.experiments['rag-answer']`). */
export interface PromptExperimentOptions {
  /** Versions and their weights: `{ v3: 90, v4: 10 }` (any non-negative numbers; their sum must be > 0). */
  variants: Record<string, number>;
  /** Salt of the assignment hash. Default: the prompt's name. Change it to reshuffle who gets what. */
  salt?: string;
  /** Forced variants: a user id (or session id) → the version it always gets, for tests and internal users. */
  force?: Record<string, string>;
}

/**
 * Options of the prompt registry (`prompts`). See docs/prompts.md; `guards`, `rollouts` and
 * `fleet` (rollback guards and gradual rollouts of experiments): docs/prompt-rollouts.md.
 */
export interface PromptsOptions extends PromptGuardsOptions {
  /** Prompt versions given in code. */
  local?: PromptDefinition[];
  /** A folder of prompts read at start-up: `<dir>/<name>/<version>.txt|.md|.json`, with `<dir>/<name>/labels.json`. */
  dir?: string;
  /**
   * Fetch prompts from Langfuse (`true`, or settings). Langfuse is then the source of every
   * prompt; local prompts of the same name are the fallback when Langfuse cannot answer.
   */
  langfuse?: boolean | LangfusePromptsOptions;
  /** Experiments by prompt name. */
  experiments?: Record<string, PromptExperimentOptions>;
  /** Shadow runs of candidate versions by prompt name, started with `runShadow()`. See docs/prompts.md. */
  shadow?: Record<string, ShadowOptions>;
}

/** One experiment, validated. */
export interface ResolvedExperiment {
  prompt: string;
  variants: Record<string, number>;
  salt: string;
  force: Map<string, string>;
}

/** The prompt options after validation: the local source loaded, Langfuse settings, experiments. */
export interface ResolvedPrompts {
  local: LocalSource;
  langfuse: LangfusePromptConfig | undefined;
  experiments: ResolvedExperiment[];
  /** Rollback guards and rollouts of the experiments (checked against them when the instance starts). */
  guards: ResolvedPromptGuards;
  /** Shadow runs (`prompts.shadow`), their versions checked against the source. */
  shadows: ResolvedShadow[];
}

const KEYS = ['local', 'dir', 'langfuse', 'experiments', 'guards', 'rollouts', 'fleet', 'shadow'] as const;
const DEFINITION_KEYS = ['name', 'version', 'prompt', 'type', 'config', 'labels'];
const LANGFUSE_KEYS = ['publicKey', 'secretKey', 'baseUrl', 'cacheTtlSeconds', 'fetchTimeoutMs', 'maxRetries', 'retryAfterSeconds'] as const;
const EXPERIMENT_KEYS = ['variants', 'salt', 'force'] as const;

function resolveLocal(value: unknown): (PromptData & { at: string })[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) configError(`option \`prompts.local\` must be an array of prompts such as [{ name: 'rag-answer', version: 'v1', prompt: 'Answer {{question}}' }], got ${JSON.stringify(value)?.slice(0, 80)}.`);
  return value.map((item: unknown, i) => {
    const at = `option \`prompts.local[${i}]\``;
    const d = record(`prompts.local[${i}]`, item, "a prompt such as { name: 'rag-answer', version: 'v1', prompt: 'Answer {{question}}' }") as Record<string, unknown>;
    const name = nonEmptyString(`prompts.local[${i}].name`, d.name, { expected: "a prompt name such as 'rag-answer'" });
    if (name === undefined) configError(`${at} needs a \`name\`, such as 'rag-answer'.`);
    const version = d.version;
    if (!((typeof version === 'string' && version.length > 0) || (typeof version === 'number' && Number.isFinite(version)))) configError(`${at} needs a \`version\`, such as 'v1' or 1, got ${JSON.stringify(version)}.`);
    return { ...checkDefinition(at, d, DEFINITION_KEYS), name, version: String(version), at };
  });
}

function resolveLangfuse(value: unknown, exporter: ResolvedExporters['langfuse'], env: NodeJS.ProcessEnv): LangfusePromptConfig | undefined {
  if (value === undefined || value === false) return undefined;
  const o = value === true ? {} : object('prompts.langfuse', value, LANGFUSE_KEYS, 'true, or an object such as { cacheTtlSeconds: 60 }') ?? {};
  const publicKey = nonEmptyString('prompts.langfuse.publicKey', o.publicKey) ?? exporter?.publicKey ?? (env.LANGFUSE_PUBLIC_KEY || undefined);
  const secretKey = nonEmptyString('prompts.langfuse.secretKey', o.secretKey, { secret: true }) ?? exporter?.secretKey ?? (env.LANGFUSE_SECRET_KEY || undefined);
  if (publicKey === undefined || secretKey === undefined) {
    configError(`Langfuse prompts need both keys: set ${publicKey === undefined ? '`prompts.langfuse.publicKey` or LANGFUSE_PUBLIC_KEY' : '`prompts.langfuse.secretKey` or LANGFUSE_SECRET_KEY'} (Langfuse project settings → API keys), or remove \`prompts.langfuse\`.`);
  }
  const base = firstSet<unknown>(
    ['prompts.langfuse.baseUrl', o.baseUrl],
    ['exporters.langfuse.baseUrl', exporter?.baseUrl],
    [envVar('LANGFUSE_BASE_URL'), env.LANGFUSE_BASE_URL || undefined],
  ) ?? { at: 'prompts.langfuse.baseUrl', value: 'https://cloud.langfuse.com' };
  const baseUrl = (httpUrl(base.at, base.value, '"https://cloud.langfuse.com"') as string).replace(/\/+$/, '');
  const retries = o.maxRetries;
  if (retries !== undefined && !(typeof retries === 'number' && Number.isInteger(retries) && retries >= 0 && retries <= 5)) configError(`option \`prompts.langfuse.maxRetries\` must be an integer from 0 to 5, got ${JSON.stringify(retries)}.`);
  return {
    publicKey,
    secretKey,
    baseUrl,
    cacheTtlMs: (nonNegativeNumber('prompts.langfuse.cacheTtlSeconds', o.cacheTtlSeconds, 'a number of seconds >= 0, such as 60') ?? 60) * 1000,
    fetchTimeoutMs: positiveNumber('prompts.langfuse.fetchTimeoutMs', o.fetchTimeoutMs, 'a number of milliseconds > 0, such as 2000') ?? 2000,
    maxRetries: (retries as number | undefined) ?? 0,
    retryAfterMs: (positiveNumber('prompts.langfuse.retryAfterSeconds', o.retryAfterSeconds, 'a number of seconds > 0, such as 10') ?? 10) * 1000,
  };
}

function resolveExperiments(value: unknown, local: LocalSource, fromLangfuse: boolean): ResolvedExperiment[] {
  const experiments = record('prompts.experiments', value, "an object of prompt names to experiments, such as { 'rag-answer': { variants: { v3: 90, v4: 10 } } }");
  if (experiments === undefined) return [];
  return Object.entries(experiments).map(([prompt, v]) => {
    const at = entry('prompts.experiments', prompt);
    const e = object(at, v, EXPERIMENT_KEYS, 'an object such as { variants: { v3: 90, v4: 10 } }') ?? {};
    // With Langfuse as the source, versions are checked when fetched (a missing one is served its fallback).
    const known = fromLangfuse ? undefined : (version: string): boolean => local.has(prompt, version);
    if (!fromLangfuse && local.versions(prompt).length === 0) {
      configError(`option \`${at}\` is an experiment on prompt ${JSON.stringify(prompt)}, which no local prompt has${local.names().length > 0 ? ` (known: ${local.names().join(', ')})` : ''}; add it to \`prompts.local\` or \`prompts.dir\`, or turn on \`prompts.langfuse\`.`);
    }
    const problem = weightsProblem(e.variants, known);
    if (problem === undefined && fromLangfuse) {
      const named = Object.keys(e.variants as Record<string, number>).find((v) => !/^[1-9][0-9]*$/.test(v));
      if (named !== undefined) configError(`option \`${field(at, 'variants')}\` names version ${JSON.stringify(named)}, but Langfuse versions are numbers: use them as keys, such as { 3: 90, 4: 10 }.`);
    }
    if (problem !== undefined) configError(`option \`${field(at, 'variants')}\` ${problem}${known !== undefined && problem.includes('does not have') ? ` (it has ${local.versions(prompt).join(', ')})` : ''}.`);
    const variants = e.variants as Record<string, number>;
    const salt = string(field(at, 'salt'), e.salt, 'a string') ?? prompt;
    const force = new Map<string, string>();
    const forced = record(field(at, 'force'), e.force, "an object of user or session ids to versions, such as { 'qa-user': 'v4' }");
    for (const [unit, version] of Object.entries(forced ?? {})) {
      if (typeof version !== 'string' || !(version in variants)) configError(`option \`${entry(field(at, 'force'), unit)}\` must be one of the experiment's versions (${Object.keys(variants).join(', ')}), got ${JSON.stringify(version)}.`);
      force.set(unit, version);
    }
    return { prompt, variants, salt, force };
  });
}

/** Validates `prompts` and loads the local prompts (a bad folder or file throws `LlmscopeConfigError`). */
export function resolvePrompts(value: unknown, exporter: ResolvedExporters['langfuse'], env: NodeJS.ProcessEnv): ResolvedPrompts {
  const o = section('prompts', value, KEYS) ?? {};
  const dir = nonEmptyString('prompts.dir', o.dir, { expected: "a folder path such as './prompts'" });
  const local = new LocalSource(resolveLocal(o.local), dir);
  const langfuse = resolveLangfuse(o.langfuse, exporter, env);
  const experiments = resolveExperiments(o.experiments, local, langfuse !== undefined);
  const guards = resolvePromptGuards('prompts', { guards: o.guards, rollouts: o.rollouts, fleet: o.fleet } as PromptGuardsOptions);
  const shadows = resolveShadows(o.shadow);
  for (const s of shadows) {
    if (langfuse !== undefined) {
      if (!/^[1-9][0-9]*$/.test(s.version)) configError(`option \`${field(s.at, 'version')}\` is ${JSON.stringify(s.version)}, but Langfuse versions are numbers, such as 4.`);
    } else if (!local.has(s.prompt, s.version)) {
      configError(`option \`${field(s.at, 'version')}\` is ${JSON.stringify(s.version)}, which prompt ${JSON.stringify(s.prompt)} does not have${local.versions(s.prompt).length > 0 ? ` (it has ${local.versions(s.prompt).join(', ')})` : ' (no local prompt has that name)'}.`);
    }
  }
  return { local, langfuse, experiments, guards, shadows };
}
