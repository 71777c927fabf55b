/**
 * Small builders over @grafana/grafana-foundation-sdk for the llmscope dashboard: every panel
 * queries the dashboard's `${datasource}` variable, every target gets a refId, and panel ids are
 * given in order, so that the generated JSON is stable from one run to the next (the ops check
 * compares it with the committed file).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { ThresholdsConfigBuilder, ThresholdsMode, type Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { GraphThresholdsStyleConfigBuilder, GraphThresholdsStyleMode, LegendDisplayMode, LegendPlacement, VizLegendOptionsBuilder } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TablePanelBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

/** The Prometheus data source picked by the dashboard's `datasource` variable. */
export const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

/** One PromQL query of a panel: the expression and its legend (`{{label}}` placeholders). */
export interface Query {
  expr: string;
  legend: string;
  /** Grafana's exemplar toggle: on for the duration histograms, so a slow bucket links to its trace. */
  exemplar?: boolean;
}

/** A line at a threshold (an alert's), drawn as a dashed line on a time series panel. */
export interface Threshold {
  value: number;
  color: string;
}

/** What every panel kind takes. */
export interface PanelSpec {
  title: string;
  /** What the panel shows and how to read it; Grafana shows it on the (i) of the panel. */
  description: string;
  unit: string;
  queries: Query[];
  /** Width in grid columns (24 is the whole row). Default 8. */
  width?: number;
  thresholds?: Threshold[];
}

const REF_IDS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function targets(queries: Query[], format: PromQueryFormat = PromQueryFormat.TimeSeries, instant = false): cog.Builder<cog.Dataquery>[] {
  if (queries.length > REF_IDS.length) throw new Error(`a panel takes at most ${REF_IDS.length} queries`);
  return queries.map((q, i) => {
    const target = new DataqueryBuilder().datasource(DATASOURCE).refId(REF_IDS[i] ?? 'A').expr(q.expr).legendFormat(q.legend).format(format);
    if (q.exemplar === true) target.exemplar(true);
    return instant ? target.instant() : target.range();
  });
}

function thresholdSteps(thresholds: Threshold[] | undefined): ThresholdsConfigBuilder {
  // Grafana's first step is the base (value null); the alert thresholds follow.
  const steps = [{ value: null, color: 'green' }, ...(thresholds ?? []).map((t) => ({ value: t.value, color: t.color }))];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps);
}

/** A time series panel, with a table legend and, when given, the thresholds as dashed lines. */
export function timeseries(spec: PanelSpec): cog.Builder<Panel> {
  const panel = new TimeseriesPanelBuilder()
    .title(spec.title).description(spec.description).datasource(DATASOURCE)
    .unit(spec.unit).height(8).span(spec.width ?? 8)
    .targets(targets(spec.queries))
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom).calcs([]))
    .thresholds(thresholdSteps(spec.thresholds));
  if (spec.thresholds !== undefined) panel.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
  return panel;
}

/** A stat panel: the last value of each series, coloured by the thresholds. */
export function stat(spec: PanelSpec): cog.Builder<Panel> {
  return new StatPanelBuilder()
    .title(spec.title).description(spec.description).datasource(DATASOURCE)
    .unit(spec.unit).height(8).span(spec.width ?? 8)
    .targets(targets(spec.queries))
    .thresholds(thresholdSteps(spec.thresholds));
}

/** A table of an instant query over the dashboard's time range (one row per label set). */
export function table(spec: PanelSpec): cog.Builder<Panel> {
  return new TablePanelBuilder()
    .title(spec.title).description(spec.description).datasource(DATASOURCE)
    .unit(spec.unit).height(8).span(spec.width ?? 8)
    .targets(targets(spec.queries, PromQueryFormat.Table, true));
}
