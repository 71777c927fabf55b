/**
 * A `{{variable}}` template parsed once, when its prompt is loaded, so that `compile()` only
 * joins strings (no regular expression, no parsing per call). Mustache's variable tags without
 * HTML escaping, as Langfuse compiles prompts: `{{name}}`, `{{ name }}`, `{{{name}}}`, `{{&name}}`
 * and dotted paths (`{{user.name}}`). A missing variable renders as the empty string, as in
 * Mustache; other tags (sections, partials, comments) are left as written.
 */
export class Template {
  /** Literal text at even indices, variable paths at odd ones. */
  private readonly parts: (string | readonly string[])[] = [];
  /** The variable names the template uses (first segment of each path). */
  readonly variables: readonly string[];

  constructor(readonly source: string) {
    const names = new Set<string>();
    let text = '';
    let at = 0;
    for (;;) {
      const open = source.indexOf('{{', at);
      if (open === -1) break;
      const triple = source.startsWith('{{{', open);
      const close = source.indexOf(triple ? '}}}' : '}}', open + (triple ? 3 : 2));
      if (close === -1) break;
      let inner = source.slice(open + (triple ? 3 : 2), close).trim();
      if (!triple && inner.startsWith('&')) inner = inner.slice(1).trim();
      if (!isVariable(inner)) {
        // A section, partial or comment: kept as written.
        text += source.slice(at, close + (triple ? 3 : 2));
        at = close + (triple ? 3 : 2);
        continue;
      }
      this.parts.push(text + source.slice(at, open));
      text = '';
      const path = inner.split('.');
      this.parts.push(path);
      names.add(path[0] as string);
      at = close + (triple ? 3 : 2);
    }
    this.parts.push(text + source.slice(at));
    this.variables = [...names];
  }

  /** The text with each variable replaced by its value (`String(value)`, objects as JSON). */
  render(variables: Readonly<Record<string, unknown>> | undefined): string {
    const parts = this.parts;
    if (parts.length === 1) return parts[0] as string;
    let out = parts[0] as string;
    for (let i = 1; i < parts.length; i += 2) {
      out += show(lookup(variables, parts[i] as readonly string[])) + (parts[i + 1] as string);
    }
    return out;
  }
}

function isVariable(name: string): boolean {
  if (name.length === 0) return false;
  const first = name.charCodeAt(0);
  // `#` `^` `/` `!` `>` `=`: Mustache sections, inverted sections, ends, comments, partials, delimiters.
  if (first === 35 || first === 94 || first === 47 || first === 33 || first === 62 || first === 61) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 123 || c === 125) return false;
  }
  return true;
}

function lookup(variables: Readonly<Record<string, unknown>> | undefined, path: readonly string[]): unknown {
  let value: unknown = variables;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'object') {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}
