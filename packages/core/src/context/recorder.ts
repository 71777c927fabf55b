import { getContext } from './context';
import type { LlmCallRecord } from '../genai/metrics';
import type { LlmRuntime } from '../genai/runtime';

/** What `step()` and `traceLLM()` need from the llmscope instance a request belongs to. */
export interface Recorder {
  readonly tracingOn: boolean;
  recordLlmCall(record: LlmCallRecord): void;
  /** The instance's LLM side: price book, options, cost attribution, helpers. */
  readonly genai?: LlmRuntime;
}

let fallback: Recorder | undefined;

/** Called by each new instance: work outside any request is recorded by the latest one. */
export function setFallbackRecorder(recorder: Recorder | undefined): void {
  fallback = recorder;
}

/** Whether fallback is `recorder` (so an instance shutting down can clear it). */
export function isFallbackRecorder(recorder: Recorder): boolean {
  return fallback === recorder;
}

/** The instance owning the current request, else the latest instance created, else none. */
export function currentRecorder(): Recorder | undefined {
  return getContext()?.owner ?? fallback;
}

/** Whether spans should be created here (true when no instance exists: the OTel API decides). */
export function tracingEnabled(): boolean {
  const r = currentRecorder();
  return r === undefined ? true : r.tracingOn;
}
