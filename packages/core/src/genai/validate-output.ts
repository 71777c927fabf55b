import { trace } from '@opentelemetry/api';
import { getContext } from '../context/context';
import { currentGenAiOwner } from './owner';

/** The Standard Schema interface (standardschema.dev), implemented by zod 3.24+/4, Valibot, ArkType, Effect Schema... */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: ReadonlyArray<{ readonly message: string; readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined }> };

/** The output type of a Standard Schema. */
export type InferOutput<S extends StandardSchemaV1> = NonNullable<S['~standard']['types']>['output'];

/** One problem found in the output. */
export interface OutputIssue {
  message: string;
  /** Dotted path of the offending field (`items.0.price`), when the schema says. */
  path?: string;
}

/** Result of {@link validateOutput}. */
export type OutputValidation<T> =
  | { success: true; value: T }
  | { success: false; issues: OutputIssue[]; raw: unknown };

/** Options of {@link validateOutput}. */
export interface ValidateOutputOptions {
  /** Name of the output, shown in logs, span events and Sentry (`answer`, `extraction`). */
  name?: string;
  /** Parse a string value as JSON first (model output usually arrives as text). Default false. */
  json?: boolean;
}

function pathText(path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined): string | undefined {
  if (path === undefined || path.length === 0) return undefined;
  return path.map((p) => String(typeof p === 'object' ? p.key : p)).join('.');
}

function report(name: string | undefined, issues: OutputIssue[], raw: unknown): void {
  const span = trace.getActiveSpan();
  if (span !== undefined) {
    span.addEvent('llmscope.output_validation.failed', {
      'llmscope.output.name': name ?? '',
      'llmscope.output_validation.issues': issues.slice(0, 10).map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)),
    });
    span.setAttribute('llmscope.output_validation.outcome', 'fail');
  }
  currentGenAiOwner()?.reportValidationFailure({ name, issues, raw }, getContext());
}

/**
 * Validates a model's output against a schema: zod (3.24+ and 4), Valibot, ArkType or any
 * Standard Schema. On success returns the parsed value; on failure returns the issues and the
 * raw output, records a `llmscope.output_validation.failed` event on the current span, logs a
 * warning line and reports a Sentry event with the raw output attached (clipped and redacted),
 * when those are configured. It never throws for invalid output: the app decides what to do.
 *
 * @example
 * const result = await validateOutput(Answer, completion.choices[0].message.content, { json: true, name: 'answer' });
 * if (!result.success) return res.status(502).json({ error: 'the model answered in the wrong shape' });
 */
export async function validateOutput<S extends StandardSchemaV1>(schema: S, value: unknown, options: ValidateOutputOptions = {}): Promise<OutputValidation<InferOutput<S>>> {
  if (schema === null || typeof schema !== 'object' || typeof schema['~standard']?.validate !== 'function') {
    throw new TypeError('llmscope: validateOutput(schema, value) needs a Standard Schema (zod 3.24+/4, Valibot, ArkType, ...).');
  }
  let input = value;
  if (options.json === true && typeof value === 'string') {
    try {
      input = JSON.parse(value);
    } catch (error) {
      const issues = [{ message: `not valid JSON: ${error instanceof Error ? error.message : String(error)}` }];
      report(options.name, issues, value);
      return { success: false, issues, raw: value };
    }
  }
  const result = await schema['~standard'].validate(input);
  if (result.issues === undefined) return { success: true, value: result.value as InferOutput<S> };
  const issues: OutputIssue[] = result.issues.map((i) => {
    const path = pathText(i.path);
    return path === undefined ? { message: i.message } : { message: i.message, path };
  });
  report(options.name, issues, value);
  return { success: false, issues, raw: value };
}
