import { context } from '@opentelemetry/api';
import { bindContext, getContext, Llmscope, runWithContext, setPromptVersion, type RequestContext } from '@llmscope/core';

// The per-request fields a prompt scope keeps of its own; every other one is shared with the request.
const OWN = new Set(['promptName', 'promptVersion', 'otelContext', 'carried']);

/**
 * A view of the request context in which only the prompt (and the active span) are its own:
 * user, session, feature and tags set inside still land on the request, while the prompt set
 * inside does not leak to code that runs after, or beside, the scope.
 */
function promptView(ctx: RequestContext): RequestContext {
  const shared = ctx as unknown as Record<string, unknown>;
  const descriptors: PropertyDescriptorMap = {};
  for (const key of Object.keys(ctx)) {
    if (OWN.has(key)) continue;
    descriptors[key] = {
      get: () => shared[key],
      set: (value: unknown) => {
        shared[key] = value;
      },
      enumerable: true,
    };
  }
  const view = Object.create(ctx, descriptors) as RequestContext;
  // Running the view re-enters this OpenTelemetry context (the span active here, not the
  // request's), carrying the view itself as the current request context.
  view.otelContext = bindContext(view, context.active());
  return view;
}

/**
 * Runs `fn` with the prompt `name`@`version`: every LLM span and LLM metric inside carries it,
 * also from undecorated code it calls. Outside a request, `fn` runs in a context of its own.
 */
export function runWithPrompt<T>(name: string, version: string, fn: () => T): T {
  const ctx = getContext();
  const set = (): T => {
    setPromptVersion(name, version);
    return fn();
  };
  if (ctx === undefined) return runWithContext(set);
  if (ctx.owner instanceof Llmscope) return ctx.owner.run(promptView(ctx), set);
  // A context made by runWithContext has no instance to run a view with: the prompt is set on it.
  return set();
}
