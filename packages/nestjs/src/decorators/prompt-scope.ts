import { AsyncLocalStorage } from 'node:async_hooks';
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { runWithContext, setPromptVersion } from '@llmscope/core';
import { getContext, type RequestContext } from '@llmscope/core/adapter';

/** The prompt of one `@PromptVersion` call, for the request context it was entered in. */
interface PromptScope {
  readonly ctx: RequestContext;
  name: string | undefined;
  version: string | undefined;
  experiment: string | undefined;
}

/** What an instance's prompt registry says a prompt's version is for the current request (core's `PromptRegistry.peek`). */
interface PromptPeek {
  peek(name: string): { version: string | undefined; experiment: string | undefined };
}

const SCOPE = createContextKey('llmscope.nestjs.promptScope');
const SCOPED = Symbol('llmscope.nestjs.promptScoped');
// Used only when no OpenTelemetry context manager propagates values (tracing off and none
// registered by the app): an extra AsyncLocalStorage costs every promise, so it is the fallback.
let fallback: AsyncLocalStorage<PromptScope> | undefined;
let otelPropagates = false;

function otelCarriesValues(): boolean {
  // Probed until true: a context manager may be registered after the first call.
  if (!otelPropagates) otelPropagates = context.with(ROOT_CONTEXT.setValue(SCOPE, true), () => context.active().getValue(SCOPE) === true);
  return otelPropagates;
}

function activeScope(ctx: RequestContext): PromptScope | undefined {
  const scope = (otelPropagates ? (context.active().getValue(SCOPE) as PromptScope | undefined) : undefined) ?? fallback?.getStore();
  return scope !== undefined && scope.ctx === ctx ? scope : undefined;
}

/**
 * Makes the prompt fields of a request context depend on where they are read: inside a prompt
 * scope they are the scope's, elsewhere the request's own. Core reads `ctx.promptName` /
 * `ctx.promptVersion` when an LLM call starts, so undecorated code called from a decorated
 * method sees the method's prompt, while code running after it, or beside it (`Promise.all`),
 * does not. `setPromptVersion()` inside a scope changes the scope only.
 */
function scopePromptFields(ctx: RequestContext): void {
  const marked = ctx as RequestContext & { [SCOPED]?: true };
  if (marked[SCOPED]) return;
  let name = ctx.promptName;
  let version = ctx.promptVersion;
  let experiment = ctx.promptExperiment;
  Object.defineProperties(ctx, {
    promptName: {
      get: () => { const s = activeScope(ctx); return s !== undefined ? s.name : name; },
      set: (value: string | undefined) => { const s = activeScope(ctx); if (s !== undefined) s.name = value; else name = value; },
      enumerable: true,
      configurable: true,
    },
    promptVersion: {
      get: () => { const s = activeScope(ctx); return s !== undefined ? s.version : version; },
      set: (value: string | undefined) => { const s = activeScope(ctx); if (s !== undefined) s.version = value; else version = value; },
      enumerable: true,
      configurable: true,
    },
    promptExperiment: {
      get: () => { const s = activeScope(ctx); return s !== undefined ? s.experiment : experiment; },
      set: (value: string | undefined) => { const s = activeScope(ctx); if (s !== undefined) s.experiment = value; else experiment = value; },
      enumerable: true,
      configurable: true,
    },
  });
  marked[SCOPED] = true;
}

/**
 * Runs `fn` with the prompt `name`@`version`: every LLM span and LLM metric inside carries it,
 * also from undecorated code it calls. Without a version, the version is the one the prompt
 * registry of the request's llmscope instance picks for this request: the prompt experiment's
 * variant, else the `production` version when it is known without fetching (local prompts, or
 * cached from Langfuse); a `getPrompt(name)` inside sets it in any case. Outside a request, `fn`
 * runs in a context of its own.
 */
export function runWithPrompt<T>(name: string, version: string | undefined, fn: () => T): T {
  const ctx = getContext();
  if (ctx === undefined) return runWithContext(() => runWithPrompt(name, version, fn));
  scopePromptFields(ctx);
  const scope: PromptScope = { ctx, name: undefined, version: undefined, experiment: undefined };
  const inScope = (): T => {
    if (version !== undefined) {
      // Through core, so that the values are clipped like any prompt version.
      setPromptVersion(name, version);
    } else {
      const registry = (ctx.owner as { prompts?: PromptPeek } | undefined)?.prompts;
      const picked = registry?.peek(name);
      scope.name = name;
      scope.version = picked?.version;
      scope.experiment = picked?.experiment;
    }
    return fn();
  };
  if (otelCarriesValues()) return context.with(context.active().setValue(SCOPE, scope), inScope);
  return (fallback ??= new AsyncLocalStorage<PromptScope>()).run(scope, inScope);
}
