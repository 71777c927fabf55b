import type { Counter, Registry } from 'prom-client';
import { counter } from '../http/prom';
import type { WarnSink } from './health';

/** The app code llmscope calls on the request path, whose failures it absorbs. */
export type AppHook = 'identify' | 'llm_call_sink';

const WHAT: Record<AppHook, string> = {
  identify: 'the `identify` option threw; the request goes on anonymous',
  llm_call_sink: 'an onLlmCall() listener threw; the other listeners and the app\'s call go on',
};

/**
 * App code llmscope runs inside a request (`identify`, `onLlmCall` listeners) must not fail that
 * request when it throws: the error is absorbed, counted in `llmscope_hook_errors_total{hook}`
 * and logged once per hook and instance (the first error, with its message), so that a bug shows
 * without flooding the logs of a busy app.
 */
export class HookFailures {
  private readonly counter: Counter<'hook'> | undefined;
  private readonly logged = new Set<AppHook>();
  private readonly totals = new Map<AppHook, number>();

  constructor(registry: Registry | undefined, private readonly warn: WarnSink) {
    this.counter = registry === undefined ? undefined : counter(registry, 'llmscope_hook_errors_total', 'Errors thrown by app code llmscope calls on the request path (identify, onLlmCall listeners), absorbed so that the request goes on, by hook.', ['hook']);
  }

  /** `hook` threw `error`: counted, logged the first time. Never throws. */
  failed(hook: AppHook, error: unknown): void {
    this.totals.set(hook, (this.totals.get(hook) ?? 0) + 1);
    this.counter?.inc({ hook });
    if (this.logged.has(hook)) return;
    this.logged.add(hook);
    try {
      this.warn({ hook, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) }, `llmscope: ${WHAT[hook]} (logged once; counted in llmscope_hook_errors_total)`);
    } catch {
      // A logger that throws must not turn an app bug into a failed request.
    }
  }

  /** How many times `hook` threw (also without a metrics registry). */
  count(hook: AppHook): number {
    return this.totals.get(hook) ?? 0;
  }
}
