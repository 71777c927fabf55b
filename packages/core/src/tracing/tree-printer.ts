import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { COMMON, GEN_AI, LLMSCOPE } from '../genai/schema';

const MAX_TRACES = 1000;
const MAX_SPANS_PER_TRACE = 500;

function ms(span: ReadableSpan): string {
  const [s, ns] = span.duration;
  return `${Math.round(s * 1000 + ns / 1e6)}ms`;
}

function describe(span: ReadableSpan): string {
  const a = span.attributes;
  let text = `${span.name} ${ms(span)}`;
  // Unmatched requests are named by the method alone (OTel semconv); the path says which one.
  const path = a['url.path'];
  if (a['http.route'] === undefined && typeof path === 'string') text = `${span.name} ${path} ${ms(span)}`;
  const calls = a[LLMSCOPE.requestLlmCalls];
  if (typeof calls === 'number') {
    // A request: its LLM calls added up.
    const cost = a[LLMSCOPE.requestCostUsd];
    text += ` (${calls} LLM call${calls === 1 ? '' : 's'}, in ${a[LLMSCOPE.requestInputTokens]} / out ${a[LLMSCOPE.requestOutputTokens]} tok${typeof cost === 'number' ? `, $${cost.toFixed(6)}` : ''})`;
  } else {
    const input = a[GEN_AI.inputTokens];
    const output = a[GEN_AI.outputTokens];
    const cost = a[LLMSCOPE.costUsd];
    if (input !== undefined || output !== undefined) {
      text += ` (in ${input ?? '?'} / out ${output ?? '?'} tok${typeof cost === 'number' ? `, $${cost.toFixed(6)}` : ''})`;
    }
  }
  const status = a['http.response.status_code'];
  if (status !== undefined) text += ` → ${status}`;
  if (span.status.code === 2) text += ' ✗ ' + (span.status.message ?? 'error');
  return text;
}

/**
 * Prints each finished trace as a compact tree, one line per span, when its local root span
 * ends. For development: what a request did, with durations, without any backend.
 *
 * ```
 * POST /chat 412ms → 200  user alice  session s-1  trace 4bf92f3577b34da6a3ce929d0e0e4736
 * ├ embed_query 8ms
 * ├ chat sim-gpt 390ms (in 120 / out 85 tok, $0.000069)
 * └ response_formatting 0ms
 * ```
 */
export class TreePrinterProcessor implements SpanProcessor {
  // Spans wait here, by trace id, until their local root ends. Bounded: oldest trace dropped.
  private readonly pending = new Map<string, ReadableSpan[]>();

  constructor(private readonly write: (text: string) => void = (t) => process.stdout.write(t)) {}

  // Start order of the spans seen starting. Span start times come from Date.now() (whole
  // milliseconds), so quick sibling steps often tie; the order they started in does not.
  private readonly order = new WeakMap<object, number>();
  private sequence = 0;

  onStart(span: Span, _parent: Context): void {
    this.order.set(span, this.sequence++);
  }

  onEnd(span: ReadableSpan): void {
    const traceId = span.spanContext().traceId;
    const parent = span.parentSpanContext;
    const isLocalRoot = parent === undefined || parent.isRemote === true;
    let spans = this.pending.get(traceId);
    if (!isLocalRoot) {
      if (spans === undefined) {
        if (this.pending.size >= MAX_TRACES) {
          const oldest = this.pending.keys().next().value;
          if (oldest !== undefined) this.pending.delete(oldest);
        }
        spans = [];
        this.pending.set(traceId, spans);
      }
      if (spans.length < MAX_SPANS_PER_TRACE) spans.push(span);
      return;
    }
    this.pending.delete(traceId);
    this.write(this.render(span, spans ?? []));
  }

  /** Renders `root` and its descendants among `spans` (children in start order). */
  render(root: ReadableSpan, spans: ReadableSpan[]): string {
    const children = new Map<string, ReadableSpan[]>();
    for (const s of spans) {
      const pid = s.parentSpanContext?.spanId;
      if (pid === undefined) continue;
      const list = children.get(pid);
      if (list) list.push(s);
      else children.set(pid, [s]);
    }
    const order = this.order;
    const byStart = (a: ReadableSpan, b: ReadableSpan): number => {
      const oa = order.get(a);
      const ob = order.get(b);
      if (oa !== undefined && ob !== undefined) return oa - ob;
      return a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1];
    };
    for (const list of children.values()) list.sort(byStart);
    const user = root.attributes[COMMON.userId];
    const session = root.attributes[COMMON.sessionId];
    let head = describe(root);
    if (user !== undefined) head += `  user ${user}`;
    if (session !== undefined) head += `  session ${session}`;
    const lines = [`${head}  trace ${root.spanContext().traceId}`];
    const walk = (id: string, indent: string): void => {
      const list = children.get(id) ?? [];
      list.forEach((child, i) => {
        const last = i === list.length - 1;
        lines.push(`${indent}${last ? '└' : '├'} ${describe(child)}`);
        walk(child.spanContext().spanId, indent + (last ? '  ' : '│ '));
      });
    };
    walk(root.spanContext().spanId, '');
    return lines.join('\n') + '\n';
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    this.pending.clear();
  }
}
