/**
 * Log lines for the trace page: a tee in front of the logger llmscope writes to. Lines with a
 * trace (their `trace_id` field, else the request being handled) go to the store, then on to the
 * logger unchanged. Nothing is serialised: the store copies a few primitive fields.
 */
import { getContext, type Llmscope, type LogSink } from '@llmscope/core';
import type { ConsoleStore } from './store';
import type { LogView } from './views';

/** The console's logger and how to take it off. */
export interface LogTee {
  /** Records lines that belong to a trace, then passes every line on to llmscope's logger (if any). */
  readonly logger: LogSink;
  /** Gives llmscope its own logger back. */
  remove(): void;
}

function traceOf(obj: object): string | undefined {
  const id = (obj as { trace_id?: unknown }).trace_id;
  if (typeof id === 'string') return id;
  return getContext()?.traceId;
}

/**
 * Puts the tee in front of the instance's logger (`logging.logger`) when logging is on, so that
 * llmscope's `http_request`, `llm_call` and `score` lines reach the console too; the returned
 * `logger` is the same tee, for the app's own lines.
 */
export function teeLogs(scope: Llmscope, store: ConsoleStore): LogTee {
  const logging = scope.telemetry?.logging;
  const next = logging?.logger;
  const record = (level: LogView['level'], obj: object, msg: string | undefined): void => {
    // The app's object may be anything; a bad one must not cost it its log line.
    try {
      if (obj === null || typeof obj !== 'object') return;
      const traceId = traceOf(obj);
      if (traceId !== undefined) store.addLog(traceId, level, obj, msg);
    } catch {
      // Recording is best effort.
    }
  };
  const logger: LogSink = {
    info(obj, msg) {
      record('info', obj, msg);
      next?.info(obj, msg);
    },
    warn(obj, msg) {
      record('warn', obj, msg);
      next?.warn(obj, msg);
    },
    error(obj, msg) {
      record('error', obj, msg);
      next?.error(obj, msg);
    },
  };
  if (logging !== undefined) logging.logger = logger;
  return {
    logger,
    remove: () => {
      if (logging !== undefined && next !== undefined && logging.logger === logger) logging.logger = next;
    },
  };
}
