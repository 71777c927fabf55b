/** Longest label value kept (model ids can be long, but not this long). */
export const MAX_LABEL_LENGTH = 128;

/** The label value of anything past a {@link LabelCap}'s limit. */
export const OTHER_LABEL = 'other';

/**
 * Bounds one label's values: clipped to {@link MAX_LABEL_LENGTH} characters, and at most `max`
 * distinct values; later ones share `other`. A model id comes from app code or from another
 * instrumentation's span, so nothing guarantees it is a small set.
 */
export class LabelCap {
  private readonly seen = new Map<string, string>();

  constructor(private readonly max: number, private readonly fallback: string) {}

  /** The label value for `value` (the fallback for a missing or non-string value). */
  get(value: unknown): string {
    if (typeof value !== 'string' || value.length === 0) return this.fallback;
    const known = this.seen.get(value);
    if (known !== undefined) return known;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    const label = value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
    this.seen.set(value, label);
    return label;
  }
}

/** A label value for free text without a cap object: a non-empty string clipped, else `fallback`. */
export function clipLabel(value: unknown, fallback: string): string {
  if (typeof value !== 'string' || value.length === 0) return fallback;
  return value.length > MAX_LABEL_LENGTH ? value.slice(0, MAX_LABEL_LENGTH) : value;
}
