/**
 * Returns `value` if it is a non-empty string, clipped to `max` characters; anything else
 * (numbers, objects, empty strings) gives `undefined`. Never throws: values reach here from
 * headers and app code, and a bad one must not fail a request.
 */
export function clipString(value: unknown, max: number): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return undefined;
  return value.length > max ? value.slice(0, max) : value;
}

/** First value of a header that may arrive repeated (`string[]`). */
export function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
