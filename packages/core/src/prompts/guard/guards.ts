import type { Registry } from 'prom-client';
import { configError } from '../../config/validate';
import type { Telemetry } from '../../exporters/telemetry';
import { SHADOW_FEATURE, type LlmCallRecord, type LlmCallSink } from '../../genai/record';
import type { ScoreRecord, ScoreSink } from '../../evals/score';
import type { TrafficControl } from '../traffic';
import { PromptGuard, type GuardListener } from './guard';
import { GuardMetrics } from './metrics';
import type { ResolvedPromptGuards } from './options';
import { GuardFleetMetrics } from './fleet-metrics';
import { PrometheusArmSource } from './prometheus';
import { telemetryReporter, type GuardReporter } from './report';

/** What {@link PromptGuards} needs of an llmscope instance (an `Llmscope` has it all). */
export interface GuardHost {
  onLlmCall(sink: LlmCallSink): () => void;
  onScore(sink: ScoreSink): () => void;
  readonly registry: Registry | undefined;
  readonly telemetry: Telemetry | undefined;
}

/** What {@link PromptGuards} is built from besides the resolved guards. */
export interface PromptGuardsDeps {
  /** The experiment (traffic control) of a prompt, or undefined when it has none. */
  readonly control: (prompt: string) => TrafficControl | undefined;
  /** Where the metrics go; none without. */
  readonly registry?: Registry | undefined;
  /** Log lines and Sentry messages. Default: process warnings for rollbacks only. */
  readonly reporter?: GuardReporter;
  /** The clock, milliseconds. Default `Date.now`. */
  readonly now?: () => number;
  /** Where a guard with `langfuseLabel` moves the label on a rollback (the Langfuse prompt source). */
  readonly labels?: LabelMover | undefined;
}

/** Moves a prompt label to a version (the Langfuse source does it through Langfuse's API). */
export interface LabelMover {
  moveLabel(name: string, version: string, label: string): Promise<void>;
}

/**
 * Every guard and rollout of an instance: routes LLM-call records and scores to the guard of
 * their prompt (a map lookup and an append), and evaluates each guard on its own unref'd timer.
 */
export class PromptGuards {
  private readonly byPrompt = new Map<string, PromptGuard>();
  private readonly timers: NodeJS.Timeout[] = [];
  private detach: (() => void)[] = [];
  private readonly reporter: GuardReporter;
  /** With `prompts.fleet`: the counters this replica exports, and where the fleet's are read. */
  private readonly fleetMetrics: GuardFleetMetrics | undefined;
  private readonly source: PrometheusArmSource | undefined;
  /** Prompts whose fleet query is in flight (an evaluation never overlaps the previous one). */
  private readonly inFlight = new Set<string>();
  /** Prompts whose last fleet query failed (reported once per failure streak). */
  private readonly failing = new Set<string>();

  constructor(config: ResolvedPromptGuards, deps: PromptGuardsDeps) {
    const { guards, fleet } = config;
    const metrics = deps.registry === undefined ? undefined : new GuardMetrics(deps.registry);
    const reporter = deps.reporter ?? telemetryReporter(undefined);
    this.reporter = reporter;
    if (fleet !== undefined && guards.length > 0) {
      if (deps.registry === undefined) configError('option `prompts.fleet` reads the replicas\' guard counters from Prometheus, so every replica must export them: turn metrics on (`metrics` is false).');
      this.fleetMetrics = new GuardFleetMetrics(deps.registry);
      this.source = new PrometheusArmSource(fleet, deps.registry);
    }
    for (const g of guards) {
      const control = deps.control(g.prompt);
      if (control === undefined) configError(`${g.at.startsWith('prompts.rollouts') ? 'rollout' : 'guard'} \`${g.at}\` is for prompt ${JSON.stringify(g.prompt)}, which has no experiment: declare its versions and weights in the prompt's experiment, or remove the ${g.at.startsWith('prompts.rollouts') ? 'rollout' : 'guard'}.`);
      const weights = control.weights();
      if (g.baseline !== undefined && !(g.baseline in weights)) configError(`option \`${g.at}.baseline\` is ${JSON.stringify(g.baseline)}, which is not a version of the experiment of ${JSON.stringify(g.prompt)} (${Object.keys(weights).join(', ')}).`);
      const guard = new PromptGuard(g, { control, reporter, metrics, now: deps.now });
      if (g.langfuseLabel !== undefined) {
        if (deps.labels === undefined) configError(`option \`${g.at}.langfuseLabel\` moves a Langfuse label on a rollback, but prompts do not come from Langfuse: set \`prompts.langfuse\`, or remove \`langfuseLabel\`.`);
        this.followWithLabel(guard, g.langfuseLabel, deps.labels);
      }
      this.byPrompt.set(g.prompt, guard);
    }
  }

  /**
   * Builds the guards of an instance: its registry, its logger and Sentry, its records and scores;
   * `labels` is the Langfuse source a guard with `langfuseLabel` moves the label through.
   */
  static attach(host: GuardHost, guards: ResolvedPromptGuards, control: (prompt: string) => TrafficControl | undefined, labels?: LabelMover): PromptGuards {
    const set = new PromptGuards(guards, { control, registry: host.registry, reporter: telemetryReporter(host.telemetry), labels });
    if (set.byPrompt.size > 0) set.detach = [host.onLlmCall(set.llmCallSink), host.onScore(set.scoreSink)];
    set.start();
    return set;
  }

  /**
   * On a rollback, moves the guard's Langfuse label to the baseline (fleets: every replica serving
   * the label follows at its next refresh). Off the guard's path: the call is not awaited, and its
   * failure is a warn log line, never an exception.
   */
  private followWithLabel(g: PromptGuard, label: string, mover: LabelMover): void {
    g.on((event) => {
      if (event.type !== 'rollback') return;
      const fields = { event: 'prompt_label_moved', prompt_name: event.prompt, prompt_version: event.to, label };
      mover.moveLabel(event.prompt, event.to, label).then(
        () => this.reporter.log('info', fields, `prompt rollback: Langfuse label ${label} moved to ${event.prompt} version ${event.to}`),
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          this.reporter.log('warn', { ...fields, event: 'prompt_label_move_failed', error: message, reason: `the rollback of ${event.prompt} could not move Langfuse label ${label} to version ${event.to} (${message}); other replicas keep serving the label's version` }, 'prompt rollback: Langfuse label not moved');
        },
      );
    });
  }

  /** An LLM-call sink: the call's duration, outcome and cost go to its prompt version's window. */
  readonly llmCallSink = (r: LlmCallRecord): void => {
    // A shadow run's calls are not the arm's traffic: never in the windows.
    if (r.promptName === undefined || r.promptVersion === undefined || r.shadow === true) return;
    const guard = this.byPrompt.get(r.promptName);
    if (guard === undefined) return;
    if (this.fleetMetrics !== undefined) this.fleetMetrics.call(r.promptName, r.promptVersion, r.seconds, r.outcome === 'error', r.costUsd);
    else guard.recordCall(r.promptVersion, r.seconds, r.outcome === 'error', r.costUsd);
  };

  /** A score sink: numeric and boolean scores go to their prompt version's window (categories are ignored). */
  readonly scoreSink = (s: ScoreRecord): void => {
    if (s.promptName === undefined || s.promptVersion === undefined || s.numericValue === undefined || s.feature === SHADOW_FEATURE) return;
    const guard = this.byPrompt.get(s.promptName);
    if (guard === undefined) return;
    if (this.fleetMetrics !== undefined) this.fleetMetrics.recordScore(s.promptName, s.promptVersion, s.name, s.numericValue, s.dataType === 'BOOLEAN');
    else guard.recordScore(s.promptVersion, s.name, s.numericValue, s.dataType === 'BOOLEAN');
  };

  /** The guard of `prompt`. */
  get(prompt: string): PromptGuard | undefined {
    return this.byPrompt.get(prompt);
  }

  /** Every guard. */
  get all(): readonly PromptGuard[] {
    return [...this.byPrompt.values()];
  }

  /** Adds a listener to every guard; returns a function that removes it. */
  on(listener: GuardListener): () => void {
    const off = this.all.map((g) => g.on(listener));
    return () => off.forEach((f) => f());
  }

  /** Starts every guard (a rollout sets its first step) and its evaluation timer (unref'd: it never keeps the process alive). */
  start(): void {
    for (const g of this.byPrompt.values()) {
      try {
        g.start();
      } catch (error) {
        this.close();
        configError(`option \`${g.config.at}${g.config.rollout === undefined ? '' : '.candidate'}\`: the experiment of ${JSON.stringify(g.prompt)} refused the rollout's first weights: ${error instanceof Error ? error.message : String(error)}`);
      }
      this.fleetMetrics?.declare(g.prompt, [...new Set([...g.versions(), ...Object.keys(this.controlWeights(g))])], g.config.rules.quality?.scores, g.config.maxScoreNames);
      const timer = setInterval(() => {
        // Never throws into the app's event loop (evaluateOne catches).
        void this.evaluateOne(g);
      }, g.config.evaluateEveryMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  private controlWeights(g: PromptGuard): Readonly<Record<string, number>> {
    return g.status().weights;
  }

  /**
   * Evaluates one guard: on this process's windows, or on the fleet's numbers read from
   * Prometheus (skipped while the previous query is in flight; a failing query is reported once
   * per failure streak at warn and decides nothing). Never rejects.
   */
  private async evaluateOne(g: PromptGuard): Promise<void> {
    try {
      const source = this.source;
      if (source === undefined) {
        g.evaluate();
        return;
      }
      if (!g.active || this.inFlight.has(g.prompt)) return;
      this.inFlight.add(g.prompt);
      try {
        const arms = await source.arms(g.prompt, g.config.windowMs);
        if (this.failing.delete(g.prompt)) this.reporter.log('info', { event: 'prompt_guard_source_recovered', prompt_name: g.prompt }, 'prompt guard reads Prometheus again');
        g.evaluateWith((version) => arms.get(version));
      } catch (error) {
        if (!this.failing.has(g.prompt)) {
          this.failing.add(g.prompt);
          const message = error instanceof Error ? error.message : String(error);
          this.reporter.log('warn', { event: 'prompt_guard_source_failed', prompt_name: g.prompt, error: message, reason: `the guard of ${g.prompt} cannot read Prometheus (${message}); it decides nothing until it can` }, 'prompt guard cannot read Prometheus');
        }
      } finally {
        this.inFlight.delete(g.prompt);
      }
    } catch {
      // A guard never fails the app.
    }
  }

  /** Evaluates every guard now (what the timers do); with `prompts.fleet`, once the queries are answered. Never rejects. */
  async evaluate(): Promise<void> {
    await Promise.all([...this.byPrompt.values()].map((g) => this.evaluateOne(g)));
  }

  /** Stops the timers and the sinks. */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    for (const d of this.detach) d();
    this.detach = [];
  }
}
