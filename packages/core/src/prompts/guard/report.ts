import type { Telemetry } from '../../exporters/telemetry';

/** Where a guard's log lines and Sentry messages go. */
export interface GuardReporter {
  /** A log line (`warn` for a rollback, `info` for rollout progress). Never throws. */
  log(level: 'info' | 'warn', fields: Record<string, unknown>, message: string): void;
  /** A Sentry message (a rollback), with tags and numbers as extra data. Never throws. */
  message(text: string, tags: Record<string, string>, extra: Record<string, unknown>): void;
}

/**
 * The reporter of an llmscope instance: its logger (`logging.logger`) and its Sentry client
 * (`exporters.sentry`), the same ones its other log lines and Sentry events use. Without a logger,
 * warnings become a process warning (a rollback is never silent) and progress lines are dropped.
 */
export function telemetryReporter(telemetry: Telemetry | undefined): GuardReporter {
  const logger = telemetry?.logging?.logger;
  const sentry = telemetry?.sentry;
  return {
    log(level, fields, message) {
      try {
        if (logger !== undefined) {
          if (level === 'warn') logger.warn(fields, message);
          else logger.info(fields, message);
        } else if (level === 'warn') {
          process.emitWarning(`llmscope: ${typeof fields.reason === 'string' ? fields.reason : message}`, 'LlmscopeWarning');
        }
      } catch {
        // Logging never fails the app.
      }
    },
    message(text, tags, extra) {
      sentry?.captureEvent({ message: text, level: 'warning', extra }, { tags });
    },
  };
}
