/**
 * The llmscope Grafana dashboard, as code (issue 15 item 3). `npm run ops:dashboard` writes it to
 * ops/grafana/llmscope-dashboard.json; ops/test/dashboard.test.ts runs every query of every panel
 * against a real Prometheus scraping a real app. Metric names are those of docs/metrics.md (no
 * `metrics.prefix`); recording rules are those of ops/prometheus/llmscope-recording.rules.yml.
 */
import {
  DashboardBuilder, DashboardCursorSync, DatasourceVariableBuilder, QueryVariableBuilder, RowBuilder, VariableRefresh, VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DATASOURCE, stat, table, timeseries } from './panels';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';

/** The dashboard's uid: stable, so that a re-import replaces the dashboard instead of copying it. */
export const DASHBOARD_UID = 'llmscope-overview';

// Label filters of the raw series. Recording rules are aggregated by job (no instance, and only
// the labels they keep), so their panels filter on `job` (and `model`/`route` where kept) only.
const ALL = 'job=~"$job", instance=~"$instance"';
const HTTP = `${ALL}, route=~"$route"`;
const LLM = `${ALL}, model=~"$model"`;
const RULE = 'job=~"$job"';
const RATE = '[$__rate_interval]';

/** `histogram_quantile` of a histogram's rate, grouped by `by` (plus `le`). */
function quantile(q: number, histogram: string, filter: string, by: string): string {
  return `histogram_quantile(${q}, sum by (${by}, le) (rate(${histogram}_bucket{${filter}}${RATE})))`;
}

/** The ratio of two rates with the same grouping. */
function ratio(numerator: string, denominator: string, by: string): string {
  return `sum by (${by}) (rate(${numerator}${RATE})) / sum by (${by}) (rate(${denominator}${RATE}))`;
}

function variable(name: string, label: string, query: string, description: string): QueryVariableBuilder {
  // Multi-value with "All" as `.*`: every query filters with `=~`, so All keeps series whose label
  // was not listed when the variable was last refreshed (a route seen after the dashboard loaded).
  return new QueryVariableBuilder(name).label(label).description(description).query(query).definition(query).datasource(DATASOURCE)
    .multi(true).includeAll(true).allValue('.*').current({ text: 'All', value: '$__all' })
    .refresh(VariableRefresh.OnTimeRangeChanged).sort(VariableSort.AlphabeticalAsc);
}

type Row = [title: string, panels: cog.Builder<Panel>[]];

const rows: Row[] = [
  ['Alert signals (recording rules, per job)', [
    timeseries({
      title: 'HTTP 5xx ratio', unit: 'percentunit', thresholds: [{ value: 0.05, color: 'red' }],
      description: 'Share of requests answered 5xx over 5 minutes, per job: what HttpServerErrorRateHigh (page) reads; it fires above the red line (5%) with at least 50 requests in 5 minutes.',
      queries: [{ expr: `job:http_server_requests_5xx:ratio_rate5m{${RULE}}`, legend: '{{job}}' }],
    }),
    timeseries({
      title: 'LLM error ratio by provider', unit: 'percentunit', thresholds: [{ value: 0.1, color: 'red' }],
      description: 'Share of LLM calls that failed over 5 minutes, per job and provider: what LlmProviderErrorRateHigh (page) reads; it fires above 10% with at least 20 calls in 5 minutes.',
      queries: [{ expr: `job_provider:llmscope_llm_errors:ratio_rate5m{${RULE}}`, legend: '{{job}} {{provider}}' }],
    }),
    timeseries({
      title: 'LLM p99 by model', unit: 's', thresholds: [{ value: 15, color: 'orange' }],
      description: 'p99 of LLM call duration over 5 minutes, per job and model: what LlmLatencyP99High (notify) reads; it fires above 15 s for 10 minutes.',
      queries: [{ expr: `job_model:gen_ai_client_operation_duration_seconds:p99_rate5m{${RULE}, model=~"$model"}`, legend: '{{job}} {{model}}' }],
    }),
    timeseries({
      title: 'Cache hit ratio (1 h) by cache', unit: 'percentunit',
      description: 'Hit ratio of each app cache over the last hour: what LlmCacheHitRateDrop (notify) compares with the same hour a day earlier (more than 20 points lower fires it).',
      queries: [{ expr: `job_cache:llmscope_cache_hit:ratio_rate1h{${RULE}}`, legend: '{{job}} {{cache}}' }],
    }),
    timeseries({
      title: 'Queue depth and throughput', unit: 'short',
      description: 'Deepest instance of each queue, and items processed per second: LlmQueueNotDraining (page) fires when items wait and none is processed.',
      queries: [
        { expr: `job_queue:llmscope_queue_depth:max{${RULE}}`, legend: 'depth {{job}} {{queue}}' },
        { expr: `job_queue:llmscope_queue_processed:rate5m{${RULE}}`, legend: 'processed/s {{job}} {{queue}}' },
      ],
    }),
    stat({
      title: 'Daily USD budget used', unit: 'percentunit', thresholds: [{ value: 1, color: 'orange' }, { value: 1.2, color: 'red' }],
      description: 'Spend today (UTC) ÷ the daily USD budget, highest instance, per feature (`_total` is the total budget): LlmDailySpendOverBudget (notify) fires above 120%.',
      queries: [{ expr: `job_feature_window_unit:llmscope_budget_utilization_ratio:max{${RULE}, window="daily", unit="usd"}`, legend: '{{job}} {{feature}}' }],
    }),
  ]],
  ['HTTP: rate, errors, duration by route', [
    timeseries({
      title: 'Requests per second by route', unit: 'reqps',
      description: 'HTTP requests per second, by route template (metrics scrapes are not counted).',
      queries: [{ expr: `sum by (route) (rate(http_server_requests_total{${HTTP}}${RATE}))`, legend: '{{route}}' }],
    }),
    timeseries({
      title: 'Errors: 5xx ratio by route', unit: 'percentunit', thresholds: [{ value: 0.05, color: 'red' }],
      description: 'Share of requests answered 5xx, by route; the 4xx (a budget\'s 429s included) are in the next panel.',
      queries: [{ expr: `sum by (route) (rate(http_server_requests_total{${HTTP}, status_code=~"5.."}${RATE})) / sum by (route) (rate(http_server_requests_total{${HTTP}}${RATE}))`, legend: '{{route}}' }],
    }),
    timeseries({
      title: 'Responses by status code', unit: 'reqps',
      description: 'Requests per second by status code.',
      queries: [{ expr: `sum by (status_code) (rate(http_server_requests_total{${HTTP}}${RATE}))`, legend: '{{status_code}}' }],
    }),
    timeseries({
      title: 'Duration p50 / p95 / p99 by route', unit: 's', width: 16,
      description: 'Request duration quantiles by route, to the end of the response (of the stream, for a streamed answer). Exemplars link a slow bucket to its trace when Prometheus stores them.',
      queries: [
        { expr: quantile(0.5, 'http_server_request_duration_seconds', HTTP, 'route'), legend: 'p50 {{route}}', exemplar: true },
        { expr: quantile(0.95, 'http_server_request_duration_seconds', HTTP, 'route'), legend: 'p95 {{route}}', exemplar: true },
        { expr: quantile(0.99, 'http_server_request_duration_seconds', HTTP, 'route'), legend: 'p99 {{route}}', exemplar: true },
      ],
    }),
    timeseries({
      title: 'Requests in flight', unit: 'short',
      description: 'HTTP requests being served now, per instance.',
      queries: [{ expr: `sum by (instance) (http_server_active_requests{${ALL}})`, legend: '{{instance}}' }],
    }),
  ]],
  ['LLM latency by model', [
    timeseries({
      title: 'LLM call duration p50 / p95 / p99', unit: 's', thresholds: [{ value: 15, color: 'orange' }],
      description: 'Duration of LLM calls (to the end of the stream for a streamed answer), both outcomes, by model.',
      queries: [
        { expr: quantile(0.5, 'gen_ai_client_operation_duration_seconds', LLM, 'model'), legend: 'p50 {{model}}', exemplar: true },
        { expr: quantile(0.95, 'gen_ai_client_operation_duration_seconds', LLM, 'model'), legend: 'p95 {{model}}', exemplar: true },
        { expr: quantile(0.99, 'gen_ai_client_operation_duration_seconds', LLM, 'model'), legend: 'p99 {{model}}', exemplar: true },
      ],
    }),
    timeseries({
      title: 'Time to first token p50 / p95 / p99', unit: 's',
      description: 'Time from the request to the first chunk of streamed answers, by model (streamed calls only).',
      queries: [
        { expr: quantile(0.5, 'gen_ai_client_operation_time_to_first_chunk_seconds', LLM, 'model'), legend: 'p50 {{model}}' },
        { expr: quantile(0.95, 'gen_ai_client_operation_time_to_first_chunk_seconds', LLM, 'model'), legend: 'p95 {{model}}' },
        { expr: quantile(0.99, 'gen_ai_client_operation_time_to_first_chunk_seconds', LLM, 'model'), legend: 'p99 {{model}}' },
      ],
    }),
    timeseries({
      title: 'LLM calls per second by model and outcome', unit: 'reqps',
      description: 'Calls per second, `ok` and `error`, by model.',
      queries: [{ expr: `sum by (model, outcome) (rate(gen_ai_client_operation_duration_seconds_count{${LLM}}${RATE}))`, legend: '{{model}} {{outcome}}' }],
    }),
  ]],
  ['Tokens and cost', [
    timeseries({
      title: 'Tokens per second by model and type', unit: 'short',
      description: 'Tokens used per second: `input` (cached included), `output`, and the parts of input read from or written to the prompt cache (`cache_read`, `cache_creation`: do not add them to input).',
      queries: [{ expr: `sum by (model, token_type) (rate(llmscope_llm_tokens_total{${LLM}}${RATE}))`, legend: '{{model}} {{token_type}}' }],
    }),
    timeseries({
      title: 'Cost per feature (USD per hour)', unit: 'currencyUSD',
      description: 'Spend of the last hour by feature, summed over the selected jobs (recording rule job_feature:llmscope_llm_cost_usd:increase1h): the cost-per-feature trend of the dashboard tier. The judge\'s calls are `llmscope.judge`.',
      queries: [{ expr: `sum by (feature) (job_feature:llmscope_llm_cost_usd:increase1h{${RULE}})`, legend: '{{feature}}' }],
    }),
    timeseries({
      title: 'Cost by model (USD per hour)', unit: 'currencyUSD',
      description: 'Spend rate by model, per hour.',
      queries: [{ expr: `sum by (model) (rate(llmscope_llm_cost_usd_total{${LLM}}${RATE})) * 3600`, legend: '{{model}}' }],
    }),
    timeseries({
      title: 'Cost by prompt version (USD per hour)', unit: 'currencyUSD',
      description: 'Spend rate by prompt name and version (`none` when the call had no prompt version): a new version with longer prompts shows here first.',
      queries: [{ expr: `sum by (prompt_name, prompt_version) (rate(llmscope_llm_cost_usd_total{${LLM}}${RATE})) * 3600`, legend: '{{prompt_name}} {{prompt_version}}' }],
    }),
    table({
      title: 'Spend by feature, model and prompt version', unit: 'currencyUSD',
      description: 'USD spent over the dashboard\'s time range, one row per feature, model and prompt version.',
      queries: [{ expr: `sum by (feature, model, prompt_name, prompt_version) (increase(llmscope_llm_cost_usd_total{${LLM}}[$__range]))`, legend: '' }],
    }),
    timeseries({
      title: 'Context window used p95 and unpriced calls', unit: 'short',
      description: 'p95 of input tokens ÷ the model\'s context window (1 is full), and calls per second of models without a price (add them to `llm.prices`).',
      queries: [
        { expr: quantile(0.95, 'llmscope_llm_context_window_utilization_ratio', LLM, 'model'), legend: 'context p95 {{model}}' },
        { expr: `sum by (model) (rate(llmscope_llm_unpriced_calls_total{${LLM}}${RATE}))`, legend: 'unpriced/s {{model}}' },
      ],
    }),
  ]],
  ['Errors by type', [
    timeseries({
      title: 'LLM errors per second by type', unit: 'short', width: 12,
      description: 'Failed LLM calls by error class (`RateLimitError`, `InternalServerError`, `APIConnectionTimeoutError`, ...) and model. A call retried and then successful is not an error: see Retries.',
      queries: [{ expr: `sum by (error_type, model) (rate(llmscope_llm_errors_total{${LLM}}${RATE}))`, legend: '{{error_type}} {{model}}' }],
    }),
    timeseries({
      title: 'LLM error ratio by provider', unit: 'percentunit', width: 12, thresholds: [{ value: 0.1, color: 'red' }],
      description: 'Share of LLM calls that failed, by provider, on the selected instances and models.',
      queries: [{ expr: ratio(`llmscope_llm_errors_total{${LLM}}`, `gen_ai_client_operation_duration_seconds_count{${LLM}}`, 'provider'), legend: '{{provider}}' }],
    }),
  ]],
  ['Cache', [
    timeseries({
      title: 'Cache hit rate by cache', unit: 'percentunit', width: 12,
      description: 'Hits ÷ lookups of each app cache (`recordCacheLookup(name, hit)`).',
      queries: [{ expr: ratio(`llmscope_cache_requests_total{${ALL}, result="hit"}`, `llmscope_cache_requests_total{${ALL}}`, 'cache'), legend: '{{cache}}' }],
    }),
    timeseries({
      title: 'Cache lookups per second', unit: 'short', width: 12,
      description: 'Lookups per second by cache and result.',
      queries: [{ expr: `sum by (cache, result) (rate(llmscope_cache_requests_total{${ALL}}${RATE}))`, legend: '{{cache}} {{result}}' }],
    }),
  ]],
  ['Queues and retries', [
    timeseries({
      title: 'Queue depth', unit: 'short',
      description: 'Items waiting in each app queue (`trackQueueDepth`), summed over instances.',
      queries: [{ expr: `sum by (queue) (llmscope_queue_depth{${ALL}})`, legend: '{{queue}}' }],
    }),
    timeseries({
      title: 'Queue items processed per second', unit: 'short',
      description: 'Items taken off each queue and handled (`recordQueueProcessed`).',
      queries: [{ expr: `sum by (queue) (rate(llmscope_queue_processed_total{${ALL}}${RATE}))`, legend: '{{queue}}' }],
    }),
    timeseries({
      title: 'LLM retries', unit: 'short',
      description: 'Attempts beyond the first (429, 5xx, timeouts retried by the SDK) per second, and per call, by model.',
      queries: [
        { expr: `sum by (model) (rate(llmscope_llm_retries_total{${LLM}}${RATE}))`, legend: 'retries/s {{model}}' },
        { expr: ratio(`llmscope_llm_retries_total{${LLM}}`, `gen_ai_client_operation_duration_seconds_count{${LLM}}`, 'model'), legend: 'retries per call {{model}}' },
      ],
    }),
  ]],
  ['Quality', [
    timeseries({
      title: 'Mean score by evaluator', unit: 'percentunit',
      description: 'Mean of the numeric and boolean scores (0–1) by evaluator and score name.',
      queries: [{ expr: ratio(`llmscope_quality_score_sum{${ALL}}`, `llmscope_quality_score_count{${ALL}}`, 'evaluator, name'), legend: '{{evaluator}} {{name}}' }],
    }),
    timeseries({
      title: 'Quality trend by prompt version (1 h mean)', unit: 'percentunit',
      description: 'Mean score of the last hour by score name and prompt version, per job (recording rule job_name_prompt_version:llmscope_quality_score:mean1h): the quality trend of the dashboard tier.',
      queries: [{ expr: `job_name_prompt_version:llmscope_quality_score:mean1h{${RULE}}`, legend: '{{job}} {{name}} {{prompt_name}} {{prompt_version}}' }],
    }),
    timeseries({
      title: 'Failure modes (last hour)', unit: 'short',
      description: 'Failure modes reported by evaluators over the last hour (recording rule job_failure_mode:llmscope_quality_failures:increase1h): the failure modes of the dashboard tier.',
      queries: [{ expr: `sum by (failure_mode, evaluator) (job_failure_mode:llmscope_quality_failures:increase1h{${RULE}})`, legend: '{{failure_mode}} ({{evaluator}})' }],
    }),
    timeseries({
      title: 'Evaluations per second by outcome', unit: 'short',
      description: 'Evaluator runs: `ok`, `error`, `timeout`, `dropped` (queue full), `invalid_output`.',
      queries: [{ expr: `sum by (evaluator, outcome) (rate(llmscope_evaluations_total{${ALL}}${RATE}))`, legend: '{{evaluator}} {{outcome}}' }],
    }),
    timeseries({
      title: 'Categorical scores per second', unit: 'short',
      description: 'Scores given as labels, by score name and label.',
      queries: [{ expr: `sum by (name, value) (rate(llmscope_quality_labels_total{${ALL}}${RATE}))`, legend: '{{name}} {{value}}' }],
    }),
    timeseries({
      title: 'Evaluation queue depth', unit: 'short',
      description: 'Evaluations waiting to run, per instance (bounded by `evaluations.queue.maxItems`; beyond it runs are dropped).',
      queries: [{ expr: `sum by (instance) (llmscope_evaluations_queue_depth{${ALL}})`, legend: '{{instance}}' }],
    }),
  ]],
  ['Budgets', [
    timeseries({
      title: 'Budget utilisation by feature and window', unit: 'percentunit', thresholds: [{ value: 1, color: 'orange' }, { value: 1.2, color: 'red' }],
      description: 'Spent ÷ budget, highest instance, by feature (`_total`: the total budget), window and unit (recording rule job_feature_window_unit:llmscope_budget_utilization_ratio:max). 1 is exhausted.',
      queries: [{ expr: `job_feature_window_unit:llmscope_budget_utilization_ratio:max{${RULE}}`, legend: '{{job}} {{feature}} {{window}} {{unit}}' }],
    }),
    timeseries({
      title: 'USD spent and budget', unit: 'currencyUSD',
      description: 'USD spent in the current window, summed over the job\'s instances (recording rule job_feature_window:llmscope_budget_spent_usd:sum), and the per-instance budget.',
      queries: [
        { expr: `sum by (feature, window) (job_feature_window:llmscope_budget_spent_usd:sum{${RULE}})`, legend: 'spent {{feature}} {{window}}' },
        { expr: `max by (feature, window) (llmscope_budget_usd{${ALL}})`, legend: 'budget {{feature}} {{window}}' },
      ],
    }),
    timeseries({
      title: 'Budgets exhausted and enforced', unit: 'short',
      description: 'Budgets reaching their limit, and calls a budget acted on before the provider was called (`reject`: a 429; `downgrade`: a cheaper model), per second.',
      queries: [
        { expr: `sum by (scope, window, unit) (rate(llmscope_budget_exhausted_total{${ALL}}${RATE}))`, legend: 'exhausted {{scope}} {{window}} {{unit}}' },
        { expr: `sum by (scope, action) (rate(llmscope_budget_enforced_total{${ALL}}${RATE}))`, legend: '{{action}} {{scope}}' },
      ],
    }),
  ]],
  ['Telemetry: sampling and drops', [
    timeseries({
      title: 'Traces per second by sampling decision', unit: 'short',
      description: 'Tail-sampling decisions: kept (by the first rule that matched: error, slow, route_latency, priority, base_rate) or dropped (sampled_out). Metrics are never sampled.',
      queries: [{ expr: `sum by (decision, reason) (rate(llmscope_sampling_traces_total{${ALL}}${RATE}))`, legend: '{{decision}} {{reason}}' }],
    }),
    timeseries({
      title: 'Share of traces kept', unit: 'percentunit',
      description: 'Traces exported ÷ traces decided.',
      queries: [{ expr: `sum(rate(llmscope_sampling_traces_total{${ALL}, decision="kept"}${RATE})) / sum(rate(llmscope_sampling_traces_total{${ALL}}${RATE}))`, legend: 'kept' }],
    }),
    timeseries({
      title: 'Sampler buffer', unit: 'short',
      description: 'Traces and spans held by the tail sampler waiting for their root span, and traces decided early (buffer full, held too long, shutdown) per second.',
      queries: [
        { expr: `sum(llmscope_sampling_buffer_traces{${ALL}})`, legend: 'traces held' },
        { expr: `sum(llmscope_sampling_buffer_spans{${ALL}})`, legend: 'spans held' },
        { expr: `sum by (reason) (rate(llmscope_sampling_evicted_traces_total{${ALL}}${RATE}))`, legend: 'evicted/s {{reason}}' },
      ],
    }),
    timeseries({
      title: 'Telemetry dropped per second by exporter', unit: 'short', width: 12,
      description: 'Spans or events an exporter could not deliver (queue full, backend failing or slow), and spans the tail sampler had no room for (`tail_sampler`). Above zero for long: telemetry is being lost.',
      queries: [{ expr: `sum by (exporter) (rate(llmscope_telemetry_dropped_total{${ALL}}${RATE}))`, legend: '{{exporter}}' }],
    }),
    timeseries({
      title: 'Hook errors per second', unit: 'short', width: 12,
      description: 'Errors thrown by app code llmscope calls on the request path (`identify`, `onLlmCall` listeners), absorbed so that requests go on.',
      queries: [{ expr: `sum by (hook) (rate(llmscope_hook_errors_total{${ALL}}${RATE}))`, legend: '{{hook}}' }],
    }),
  ]],
];

/** Builds the dashboard: variables for service (job, instance), route and model, then one row per concern. */
export function buildDashboard(): Dashboard {
  const builder = new DashboardBuilder('llmscope: LLM app overview')
    .uid(DASHBOARD_UID)
    .description('HTTP, LLM, cost, quality, budgets and telemetry health of apps instrumented with llmscope. Generated by ops/grafana/generate.ts: edit that, not the JSON.')
    .tags(['llmscope', 'llm'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .refresh('1m')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(variable('job', 'Service (job)', 'label_values(http_server_requests_total, job)', 'The Prometheus job of the app: one per service.'))
    .withVariable(variable('instance', 'Instance', 'label_values(http_server_requests_total{job=~"$job"}, instance)', 'Replicas of the selected services. Panels fed by recording rules (the first row, and those saying so) cover every instance of a job.'))
    .withVariable(variable('route', 'Route', 'label_values(http_server_requests_total{job=~"$job", instance=~"$instance"}, route)', 'Route templates of the HTTP panels.'))
    .withVariable(variable('model', 'Model', 'label_values(gen_ai_client_operation_duration_seconds_count{job=~"$job", instance=~"$instance"}, model)', 'Requested models of the LLM panels.'));
  for (const [title, panels] of rows) {
    builder.withRow(new RowBuilder(title));
    for (const panel of panels) builder.withPanel(panel);
  }
  const dashboard = builder.build();
  // The SDK numbers rows only: give every panel a stable id, in order (Grafana needs them unique).
  (dashboard.panels ?? []).forEach((panel, i) => {
    panel.id = i + 1;
  });
  return dashboard;
}
