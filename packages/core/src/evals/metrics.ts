import type { Registry } from 'prom-client';
import { LabelCap } from '../genai/labels';
import { counter, histogram } from '../http/prom';
import type { ScoreRecord } from './score';

/** 0 to 1 in tenths: scores are fractions (booleans 0 or 1). */
export const QUALITY_SCORE_BUCKETS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

/**
 * The quality metrics of one registry: `llmscope_quality_score` (numeric and boolean scores in
 * 0–1) and `llmscope_quality_labels_total` (categorical scores). Every label is bounded.
 */
export class QualityMetrics {
  private readonly score;
  private readonly labels;
  private readonly outOfRange;
  private readonly names = new LabelCap(100, 'none');
  private readonly evaluators = new LabelCap(100, 'none');
  private readonly features = new LabelCap(200, 'none');
  private readonly prompts = new LabelCap(500, 'none');
  private readonly categories = new LabelCap(200, 'none');

  constructor(registry: Registry) {
    this.score = histogram(registry, 'llmscope_quality_score', 'Quality scores in 0–1 (numeric and boolean: 1 true, 0 false), by score name, evaluator, source, feature, prompt name and version.',
      ['name', 'evaluator', 'source', 'feature', 'prompt_name', 'prompt_version'], QUALITY_SCORE_BUCKETS);
    this.labels = counter(registry, 'llmscope_quality_labels_total', 'Categorical scores, by score name, evaluator, label value and feature.', ['name', 'evaluator', 'value', 'feature']);
    this.outOfRange = counter(registry, 'llmscope_quality_scores_out_of_range_total', 'Numeric scores outside 0–1, kept out of llmscope_quality_score (they still reach Langfuse, logs and traces), by score name.', ['name']);
  }

  /** A score sink. */
  readonly record = (s: ScoreRecord): void => {
    const name = this.names.get(s.name);
    if (s.numericValue === undefined) {
      this.labels.inc({ name, evaluator: this.evaluators.get(s.evaluator), value: this.categories.get(s.value), feature: this.features.get(s.feature) });
    } else if (s.numericValue < 0 || s.numericValue > 1) {
      this.outOfRange.inc({ name });
    } else {
      this.score.observe({
        name, evaluator: this.evaluators.get(s.evaluator), source: s.source, feature: this.features.get(s.feature),
        prompt_name: this.prompts.get(s.promptName), prompt_version: this.prompts.get(s.promptVersion),
      }, s.numericValue);
    }
  };
}
