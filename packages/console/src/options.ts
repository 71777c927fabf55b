/** The console's options, checked once when it is mounted: a bad one throws with the reason. */

/**
 * Decides whether a request may open the console: true lets it in. Receives the framework's
 * request object (Express `req`, Node's `IncomingMessage`). A throwing or rejecting hook refuses.
 */
export type ConsoleAuthorize = (request: unknown) => boolean | Promise<boolean>;

/** Options of {@link llmscopeConsole}. */
export interface ConsoleOptions {
  /** Where the console is mounted on the app's port. Default `/llmscope`. */
  path?: string;
  /**
   * Whether to mount it. Default: on when `NODE_ENV` is not `production`. In production it is
   * mounted only with `authorize` or `token` (without either, `enabled: true` throws).
   */
  enabled?: boolean;
  /** Who may open it (every page and API call goes through it). */
  authorize?: ConsoleAuthorize;
  /**
   * A shared secret: requests must carry `Authorization: Bearer <token>` or `?token=<token>`
   * (the UI passes on the `token` it was opened with). At least 16 characters.
   */
  token?: string;
  /** Finished requests kept (with their trace, LLM calls and scores). Default 1000, at most 100,000. */
  maxRequests?: number;
  /** LLM calls kept for the aggregates (cost, sessions, prompt versions). Default 10,000, at most 1,000,000. */
  maxCalls?: number;
  /** Spans (and calls, scores) kept per trace. Default 100. */
  maxSpansPerTrace?: number;
  /** Rolling window of the aggregates, minutes. Default 60. */
  windowMinutes?: number;
  /** Log lines kept in all (llmscope's lines and the app's through the console's logger). Default 5,000, at most 1,000,000. */
  maxLogLines?: number;
  /** Log lines kept per trace (the rest of a trace's lines are dropped). Default 50. */
  maxLogLinesPerTrace?: number;
}

/** The options after defaults and checks. */
export interface ResolvedConsoleOptions {
  readonly path: string;
  readonly enabled: boolean;
  readonly authorize: ConsoleAuthorize | undefined;
  readonly token: string | undefined;
  readonly maxRequests: number;
  readonly maxCalls: number;
  readonly maxSpansPerTrace: number;
  readonly windowMs: number;
  readonly maxLogLines: number;
  readonly maxLogLinesPerTrace: number;
}

const KEYS = new Set(['path', 'enabled', 'authorize', 'token', 'maxRequests', 'maxCalls', 'maxSpansPerTrace', 'windowMinutes', 'maxLogLines', 'maxLogLinesPerTrace']);

function fail(message: string): never {
  throw new TypeError(`llmscope console: ${message}`);
}

function int(value: unknown, name: string, dflt: number, max: number): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) fail(`\`${name}\` must be an integer from 1 to ${max}; got ${String(value)}`);
  return value;
}

/** Checks the options and applies the defaults. `production`: whether `NODE_ENV` is `production`. */
export function resolveConsoleOptions(options: ConsoleOptions | undefined, production: boolean): ResolvedConsoleOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) fail('options must be an object');
  for (const key of Object.keys(o)) if (!KEYS.has(key)) fail(`unknown option \`${key}\` (known: ${[...KEYS].join(', ')})`);
  const path = o.path ?? '/llmscope';
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9._~\-/]*[A-Za-z0-9._~-]$/.test(path) || path.includes('//')) {
    fail(`\`path\` must be a path such as "/llmscope" (letters, digits, . _ ~ - and /, no trailing "/"); got ${JSON.stringify(path)}`);
  }
  if (o.authorize !== undefined && typeof o.authorize !== 'function') fail('`authorize` must be a function (request) => boolean | Promise<boolean>');
  if (o.token !== undefined && (typeof o.token !== 'string' || o.token.length < 16)) fail('`token` must be a string of at least 16 characters');
  if (o.enabled !== undefined && typeof o.enabled !== 'boolean') fail('`enabled` must be a boolean');
  const guarded = o.authorize !== undefined || o.token !== undefined;
  if (production && o.enabled === true && !guarded) {
    fail('in production (NODE_ENV=production) the console needs `authorize` or `token`: it shows users, sessions and prompts');
  }
  const windowMinutes = int(o.windowMinutes, 'windowMinutes', 60, 7 * 24 * 60);
  return {
    path,
    // Off in production unless guarded; `enabled: false` always wins.
    enabled: o.enabled ?? (!production || guarded),
    authorize: o.authorize,
    token: o.token,
    maxRequests: int(o.maxRequests, 'maxRequests', 1000, 100_000),
    maxCalls: int(o.maxCalls, 'maxCalls', 10_000, 1_000_000),
    maxSpansPerTrace: int(o.maxSpansPerTrace, 'maxSpansPerTrace', 100, 10_000),
    windowMs: windowMinutes * 60_000,
    maxLogLines: int(o.maxLogLines, 'maxLogLines', 5000, 1_000_000),
    maxLogLinesPerTrace: int(o.maxLogLinesPerTrace, 'maxLogLinesPerTrace', 50, 10_000),
  };
}
