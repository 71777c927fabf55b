import { Template } from './template';

/** One message of a chat prompt. */
export interface ChatMessage {
  /** `system`, `user`, `assistant`, ... */
  role: string;
  /** The message text (with `{{variables}}` until compiled). */
  content: string;
}

/**
 * A placeholder in a chat prompt (Langfuse's `{ type: 'placeholder', name }`): `compile()` puts
 * the messages given for it under that name in `placeholders`, or nothing.
 */
export interface ChatPlaceholder {
  /** Marks a placeholder. */
  type: 'placeholder';
  /** The key of `compile()`'s `placeholders` whose messages take its place. */
  name: string;
}

/** Where a prompt came from. */
export type PromptSource = 'local' | 'langfuse' | 'fallback';

/** What every prompt has, text or chat. */
export interface PromptBase {
  /** The prompt's name, such as `rag-answer`. */
  readonly name: string;
  /**
   * Its version: the file or option version of a local prompt (`v3`), Langfuse's version number
   * as a string (`3`), or `fallback` for a fallback prompt.
   */
  readonly version: string;
  /** Model settings and anything else stored with the prompt (`model`, `temperature`, ...). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Labels of this version (`production`, `staging`, `latest`, ...). */
  readonly labels: readonly string[];
  /**
   * True when the prompt is a fallback: Langfuse could not be reached (or had no such prompt) and
   * nothing was cached, so the `fallback` given to `getPrompt()` or the local copy was served.
   * A fallback is never linked to a Langfuse prompt.
   */
  readonly isFallback: boolean;
  /** Where it came from. */
  readonly source: PromptSource;
  /** Names of the `{{variables}}` it uses. */
  readonly variables: readonly string[];
}

/** A text prompt. */
export interface TextPrompt extends PromptBase {
  /** A text prompt. */
  readonly type: 'text';
  /** The text, with its `{{variables}}`. */
  readonly prompt: string;
  /** The text with `{{variables}}` replaced (Mustache variables, no HTML escaping; a missing one renders empty). */
  compile(variables?: Readonly<Record<string, unknown>>): string;
}

/** A chat prompt. */
export interface ChatPrompt extends PromptBase {
  /** A chat prompt. */
  readonly type: 'chat';
  /** The messages and placeholders, with their `{{variables}}`. */
  readonly prompt: readonly (ChatMessage | ChatPlaceholder)[];
  /**
   * The messages with `{{variables}}` replaced in each content, and each placeholder replaced by
   * the messages given for it in `placeholders` (none when not given).
   */
  compile(variables?: Readonly<Record<string, unknown>>, placeholders?: Readonly<Record<string, readonly ChatMessage[]>>): ChatMessage[];
}

/** A prompt returned by `getPrompt()`. */
export type Prompt = TextPrompt | ChatPrompt;

/** What a source knows of one prompt version, before it becomes a {@link Prompt}. */
export interface PromptData {
  name: string;
  version: string;
  prompt: string | readonly (ChatMessage | ChatPlaceholder)[];
  type?: 'text' | 'chat';
  config?: Record<string, unknown>;
  labels?: readonly string[];
}

function isPlaceholder(m: ChatMessage | ChatPlaceholder): m is ChatPlaceholder {
  return (m as ChatPlaceholder).type === 'placeholder';
}

class Text implements TextPrompt {
  readonly type = 'text';
  readonly variables: readonly string[];
  private readonly template: Template;

  constructor(
    readonly name: string, readonly version: string, readonly prompt: string, readonly config: Readonly<Record<string, unknown>>,
    readonly labels: readonly string[], readonly isFallback: boolean, readonly source: PromptSource,
  ) {
    this.template = new Template(prompt);
    this.variables = this.template.variables;
  }

  compile(variables?: Readonly<Record<string, unknown>>): string {
    return this.template.render(variables);
  }
}

class Chat implements ChatPrompt {
  readonly type = 'chat';
  readonly variables: readonly string[];
  private readonly templates: (Template | ChatPlaceholder)[];

  constructor(
    readonly name: string, readonly version: string, readonly prompt: readonly (ChatMessage | ChatPlaceholder)[], readonly config: Readonly<Record<string, unknown>>,
    readonly labels: readonly string[], readonly isFallback: boolean, readonly source: PromptSource,
  ) {
    this.templates = prompt.map((m) => (isPlaceholder(m) ? m : new Template(m.content)));
    const names = new Set<string>();
    for (const t of this.templates) if (t instanceof Template) for (const v of t.variables) names.add(v);
    this.variables = [...names];
  }

  compile(variables?: Readonly<Record<string, unknown>>, placeholders?: Readonly<Record<string, readonly ChatMessage[]>>): ChatMessage[] {
    const out: ChatMessage[] = [];
    for (let i = 0; i < this.templates.length; i++) {
      const t = this.templates[i] as Template | ChatPlaceholder;
      if (t instanceof Template) out.push({ role: (this.prompt[i] as ChatMessage).role, content: t.render(variables) });
      else for (const m of placeholders?.[t.name] ?? []) out.push({ role: m.role, content: m.content });
    }
    return out;
  }
}

/** Builds the prompt object of one version (templates parsed once, here). */
export function makePrompt(data: PromptData, source: PromptSource, isFallback = false): Prompt {
  const config = Object.freeze({ ...data.config });
  const labels = Object.freeze([...(data.labels ?? [])]);
  if (typeof data.prompt === 'string') return new Text(data.name, data.version, data.prompt, config, labels, isFallback, source);
  const messages = Object.freeze(data.prompt.map((m) => Object.freeze({ ...m })));
  return new Chat(data.name, data.version, messages, config, labels, isFallback, source);
}

/** Whether `value` is a chat message or placeholder as prompts store them. */
export function isChatItem(value: unknown): value is ChatMessage | ChatPlaceholder {
  if (value === null || typeof value !== 'object') return false;
  const m = value as Record<string, unknown>;
  if (m.type === 'placeholder') return typeof m.name === 'string' && m.name.length > 0;
  return typeof m.role === 'string' && m.role.length > 0 && typeof m.content === 'string';
}
