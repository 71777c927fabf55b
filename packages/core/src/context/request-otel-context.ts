import { INVALID_SPAN_CONTEXT, trace, type Context, type Span } from '@opentelemetry/api';

/**
 * The key `trace.setSpan` stores a span under, read once: the API does not export it (its keys are
 * `Symbol.for` symbols, so every copy of the API agrees on it).
 */
function spanKey(): symbol {
  let key: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue: (k) => {
      key = k;
      return probe;
    },
    deleteValue: () => probe,
  };
  trace.setSpan(probe, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  if (key === undefined) throw new Error('llmscope: @opentelemetry/api stored no span key');
  return key;
}

const SPAN_KEY = spanKey();

/**
 * The OpenTelemetry context a request runs in: its parent's entries, the request's span and one
 * more entry (llmscope's request context), in one object. Built with the API, that is two
 * `BaseContext` copies of the parent's entries per request (`trace.setSpan`, then `setValue`),
 * ~0.4 µs in the profiles, paid by every request whether anything inside reads them or not.
 *
 * Reads answer the two entries, then ask the parent. A context derived from it (a step's or an
 * LLM call's span, `setValue` by any library) is an ordinary `BaseContext` built once, on the
 * first derivation, from the same entries: so derived contexts are what the API would have built,
 * and no chain grows however often code derives from it.
 */
export class RequestOtelContext implements Context {
  private derivedBase: Context | undefined = undefined;

  constructor(
    private readonly parent: Context,
    /** Undefined: no span of its own (the parent's span, if any, shows through). */
    private readonly span: Span | undefined,
    private readonly key: symbol,
    private readonly value: unknown,
  ) {}

  getValue(key: symbol): unknown {
    if (key === this.key) return this.value;
    if (key === SPAN_KEY && this.span !== undefined) return this.span;
    return this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return this.base().setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.base().deleteValue(key);
  }

  /** The same entries as an API-built context (what derivations start from). */
  private base(): Context {
    if (this.derivedBase === undefined) {
      const withSpan = this.span === undefined ? this.parent : trace.setSpan(this.parent, this.span);
      this.derivedBase = withSpan.setValue(this.key, this.value);
    }
    return this.derivedBase;
  }
}
