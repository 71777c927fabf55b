/**
 * Redaction of secrets and e-mail addresses, applied to every string llmscope hands to a log
 * line or an exporter. Patterns are compiled once, at start-up.
 */

/** A pattern to redact and what replaces its matches. */
export interface RedactionRule {
  /** Must have the `g` flag (added when missing). */
  pattern: RegExp;
  /** Default: the `replacement` of the redaction options (`[REDACTED]`). */
  replacement?: string;
}

/** Options of redaction (`redact` option). */
export interface RedactOptions {
  /** Redact well-known secret formats (API keys, bearer tokens, JWTs, private keys). Default true. */
  secrets?: boolean;
  /** Redact e-mail addresses. Default true. */
  emails?: boolean;
  /** Further patterns of your own (customer ids, phone numbers, ...). */
  patterns?: (RegExp | RedactionRule)[];
  /** What replaces a secret. Default `[REDACTED]`. */
  replacement?: string;
}

/**
 * Well-known secret formats. Each is anchored on a distinctive prefix so that ordinary text is
 * not touched: OpenAI/Anthropic-style `sk-...`, Langfuse `pk-lf-`/`sk-lf-`, AWS access key ids,
 * GitHub, Slack and Google API tokens, JWTs, `Bearer`/`Basic` credentials and PEM private keys.
 */
export const SECRET_PATTERNS: readonly RegExp[] = [
  /\b(?:sk|pk|rk)-(?:[A-Za-z0-9]+-)*[A-Za-z0-9_]{16,}\b/g,
  /\b(?:sk|pk)-lf-[A-Za-z0-9-]{8,}\b/g,
  /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g,
  /\bgithub_pat_[A-Za-z0-9_]{30,}\b/g,
  /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}\b/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
];

/** E-mail addresses (the practical subset of RFC 5322 that real addresses use). */
export const EMAIL_PATTERN = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

interface CompiledRule {
  pattern: RegExp;
  replacement: string;
}

/** Redacts strings; built once from the options. A `Redactor` with no rule returns its input. */
export class Redactor {
  private readonly rules: CompiledRule[];

  constructor(options: RedactOptions | false = {}) {
    const rules: CompiledRule[] = [];
    if (options !== false) {
      const replacement = options.replacement ?? '[REDACTED]';
      if (options.secrets !== false) {
        for (const p of SECRET_PATTERNS) {
          // Keep the scheme of an Authorization value readable: "Bearer [REDACTED]".
          rules.push({ pattern: p, replacement: p.source.startsWith('\\b(Bearer') ? `$1 ${replacement}` : replacement });
        }
      }
      if (options.emails !== false) rules.push({ pattern: EMAIL_PATTERN, replacement: '[EMAIL]' });
      for (const rule of options.patterns ?? []) {
        const r: RedactionRule = rule instanceof RegExp ? { pattern: rule } : rule;
        const flags = r.pattern.flags.includes('g') ? r.pattern.flags : r.pattern.flags + 'g';
        rules.push({ pattern: new RegExp(r.pattern.source, flags), replacement: r.replacement ?? replacement });
      }
    }
    this.rules = rules;
  }

  /** Whether any rule is active. */
  get active(): boolean {
    return this.rules.length > 0;
  }

  /** `text` with every match replaced. */
  string(text: string): string {
    let out = text;
    for (const rule of this.rules) {
      rule.pattern.lastIndex = 0;
      if (rule.pattern.test(out)) {
        rule.pattern.lastIndex = 0;
        out = out.replace(rule.pattern, rule.replacement);
      }
    }
    return out;
  }

  /**
   * Redacts every string in `value` (objects and arrays are copied, depth-limited so that a
   * cyclic or huge structure cannot stall the caller). Non-plain objects (Errors, Dates) are
   * turned into their string form first.
   */
  value(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.string(value);
    if (value === null || typeof value !== 'object') return value;
    if (depth > 8) return '[Truncated]';
    if (Array.isArray(value)) return value.map((v) => this.value(v, depth + 1));
    if (value instanceof Error) return this.string(`${value.name}: ${value.message}`);
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) return this.string(String(value));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.value(v, depth + 1);
    return out;
  }
}
