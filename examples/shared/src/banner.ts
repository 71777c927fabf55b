import { SAMPLE_QUESTIONS } from './documents';

/** One endpoint of an example app, for the banner and the app's `GET /`. */
export interface Endpoint {
  method: 'GET' | 'POST';
  path: string;
  description: string;
}

/** The endpoints every example app serves, whatever its framework. */
export const ENDPOINTS: readonly Endpoint[] = [
  { method: 'GET', path: '/', description: 'this list' },
  { method: 'POST', path: '/chat', description: '{"question": "..."} → {answer, sources, traceId}; x-user-id / x-session-id headers tag it' },
  { method: 'POST', path: '/llmscope/feedback', description: '{"traceId": "...", "name": "thumbs", "value": 1} → 202: a human score of that answer (x-user-id header required)' },
  { method: 'GET', path: '/metrics', description: 'Prometheus metrics (HTTP, LLM and quality scores)' },
];

/** What `GET /` answers: the app's name and its endpoints as absolute URLs. */
export function describeEndpoints(framework: string, baseUrl: string): { app: string; endpoints: Array<Endpoint & { url: string }>; try: { chat: string; feedback: string } } {
  return {
    app: `llmscope ${framework} RAG example`,
    endpoints: ENDPOINTS.map((e) => ({ ...e, url: baseUrl + e.path })),
    try: { chat: curlLine(baseUrl), feedback: feedbackCurlLine(baseUrl) },
  };
}

/** A ready-to-paste `curl` line asking the example app a question as user alice. */
export function curlLine(baseUrl: string, question: string = SAMPLE_QUESTIONS[0] as string): string {
  const body = JSON.stringify({ question }).replace(/'/g, `'\\''`);
  return `curl -s ${baseUrl}/chat -H 'content-type: application/json' -H 'x-user-id: alice' -H 'x-session-id: s-1' -d '${body}'`;
}

/** Placeholder of {@link feedbackCurlLine}'s trace id, for the banner. */
export const TRACE_ID_PLACEHOLDER = '<traceId>';

/**
 * A ready-to-paste `curl` line scoring an answer as user alice (a thumbs up, a human score): the
 * trace id is the `traceId` of the answer (also its `x-trace-id` header).
 */
export function feedbackCurlLine(baseUrl: string, traceId: string = TRACE_ID_PLACEHOLDER, value: number = 1): string {
  const body = JSON.stringify({ traceId, name: 'thumbs', value, comment: 'helpful' }).replace(/'/g, `'\\''`);
  return `curl -s ${baseUrl}/llmscope/feedback -H 'content-type: application/json' -H 'x-user-id: alice' -d '${body}'`;
}

/** Options of {@link formatBanner}. */
export interface BannerOptions {
  /** Framework name shown in the banner, e.g. `Express`. */
  framework: string;
  /** The port the app listens on (the real one when it was started on port 0). */
  port: number;
  /** Host name in the URLs. Default `localhost`. */
  host?: string;
  /** The app's local console (`@llmscope/console`): its URL is printed when it is mounted. */
  console?: { readonly enabled: boolean; readonly path: string } | undefined;
}

/** The start-up text of an example app: where it listens, what to try, what to expect. */
export function formatBanner({ framework, port, host = 'localhost', console }: BannerOptions): string {
  const base = `http://${host}:${port}`;
  const width = Math.max(...ENDPOINTS.map((e) => `${e.method.padEnd(4)} ${base}${e.path}`.length));
  const lines = [
    `llmscope ${framework} RAG example listening on ${base}`,
    ...(console?.enabled === true ? [`Console: ${base}${console.path}  (requests, traces, sessions, cost, prompt versions; outside production only)`] : []),
    '',
    'Try:',
    `  ${curlLine(base)}`,
    `Then score that answer: put its traceId in place of ${TRACE_ID_PLACEHOLDER} (llmscope scores answers too: citations on every one, a judge on a sample):`,
    `  ${feedbackCurlLine(base)}`,
    '',
    ...ENDPOINTS.map((e) => `  ${`${e.method.padEnd(4)} ${base}${e.path}`.padEnd(width)}  ${e.description}`),
    '',
    'Each request\'s trace prints below as a tree (set NODE_ENV=production to silence it).',
    '',
  ];
  return lines.join('\n') + '\n';
}

/** Writes {@link formatBanner} to stdout. */
export function printBanner(options: BannerOptions): void {
  process.stdout.write(formatBanner(options));
}
