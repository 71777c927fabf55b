import { TraceFlags } from '@opentelemetry/api';
import type { Attributes, Context, Link, SpanContext, SpanKind } from '@opentelemetry/api';
import {
  AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, SamplingDecision, TraceIdRatioBasedSampler,
  type Sampler, type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import { isGenAiAttributes } from '../genai/schema';
import type { ResolvedHeadSampling } from './options';

// Shared result objects: the sampler runs for every span, so it allocates nothing of its own.
const RECORD_ONLY: SamplingResult = Object.freeze({ decision: SamplingDecision.RECORD });

/**
 * Whether a span about to start describes a GenAI call (the same test as the foreign GenAI span
 * processor). Such spans are recorded even when the trace is not sampled, because the GenAI
 * metrics of other instrumentations (e.g. `@opentelemetry/instrumentation-openai`) are derived
 * from their spans, and metrics must count 100% of calls.
 */
function isGenAi(a: Attributes | undefined): boolean {
  return a !== undefined && isGenAiAttributes(a);
}

function buildInner(head: ResolvedHeadSampling): Sampler {
  const root = head.ratio >= 1 ? new AlwaysOnSampler() : head.ratio <= 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(head.ratio);
  return head.parentBased ? new ParentBasedSampler({ root }) : root;
}

/**
 * The head sampler of the tracer provider llmscope registers: OpenTelemetry's own ratio and
 * parent-based samplers (so a trace id gets the same decision here as in any OTel service using
 * `traceidratio`), configured from `sampling.head` or `OTEL_TRACES_SAMPLER*`.
 *
 * A "drop" stays a real drop (NOT_RECORD: no span object, nothing to export, nothing to hold
 * in the tail buffer) except for GenAI spans, which are recorded but not sampled so that the
 * metrics derived from them stay complete. llmscope's own request and LLM metrics never depend
 * on this: the request lifecycle and `traceLLM()` record them directly.
 *
 * One per process, like the provider; the latest llmscope instance's options apply.
 */
export class LlmscopeSampler implements Sampler {
  private inner: Sampler = buildInner({ ratio: 1, parentBased: true });
  private description = 'ParentBased{root=AlwaysOn}';
  /** The rules are the default ParentBased{root=AlwaysOn}: a decision needs no inner sampler call. */
  private followsParent = true;
  /** While a lean span is materialised: the decision it already took (its ids were propagated with it). */
  private replaying: SamplingResult | undefined;

  /** Answers `result` to every span until called with undefined (see LlmscopeTracer.materialise). */
  replay(result: SamplingResult | undefined): void {
    this.replaying = result;
  }

  /** Replaces the head sampling rules (called by each llmscope instance that traces). */
  configure(head: ResolvedHeadSampling): void {
    this.inner = buildInner(head);
    this.description = this.inner.toString();
    this.followsParent = head.parentBased && head.ratio >= 1;
  }

  /**
   * Whether a span under `parent` (undefined or invalid: a root) is sampled, when the rules tell
   * it from the parent alone (the default: a root is sampled, a child follows its parent's flag,
   * remote or local); undefined when `shouldSample` must be asked. What ParentBased{root=AlwaysOn}
   * answers, without its context lookups and result object (llmscope's tracer, per span).
   */
  sampledByParent(parent: SpanContext | undefined): boolean | undefined {
    if (!this.followsParent || this.replaying !== undefined) return undefined;
    return parent === undefined || (parent.traceFlags & TraceFlags.SAMPLED) !== 0;
  }

  shouldSample(context: Context, traceId: string, spanName: string, spanKind: SpanKind, attributes: Attributes, links: Link[]): SamplingResult {
    if (this.replaying !== undefined) return this.replaying;
    const result = this.inner.shouldSample(context, traceId, spanName, spanKind, attributes, links);
    if (result.decision === SamplingDecision.NOT_RECORD && isGenAi(attributes)) return RECORD_ONLY;
    return result;
  }

  toString(): string {
    return `LlmscopeSampler{${this.description}}`;
  }
}

/** The process-wide head sampler, installed on the provider llmscope registers. */
export const llmscopeSampler = new LlmscopeSampler();
