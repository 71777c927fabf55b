/**
 * Redaction of secrets and e-mail addresses, applied to every string llmscope hands to a log
 * line, an exporter, the app's span processors, the trace printer or the console. Patterns are
 * compiled once, at start-up.
 *
 * Every default pattern runs in time linear in the length of its input, whatever the input (no
 * ReDoS): JavaScript regular expressions backtrack, so a pattern is only linear if no start
 * position can make it scan far and then fail in a region that other start positions scan again.
 * Each pattern below keeps to one of three shapes, said next to it:
 * - **bounded**: every repetition that can fail after it has a small upper bound, so one start
 *   position costs a constant;
 * - **commits**: after its distinctive prefix, the pattern ends in a greedy run that cannot fail
 *   (no `\b` or literal after it), so a long scan always ends in a match and the search resumes
 *   after it;
 * - **disjoint**: a long scan that can fail stays inside a run that no other start position of
 *   the pattern can scan (a lookbehind keeps starts to the beginning of such a run), so each
 *   character is scanned a bounded number of times.
 * `test/logging/redos.test.ts` proves it on 1 MB hostile inputs built against each pattern.
 */

/** A pattern to redact and what replaces its matches. */
export interface RedactionRule {
  /** Must have the `g` flag (added when missing). Keep it linear-time: see docs/redaction.md. */
  pattern: RegExp;
  /** Default: the `replacement` of the redaction options (`[REDACTED]`). */
  replacement?: string;
}

/** Options of redaction (`redact` option). */
export interface RedactOptions {
  /** Redact well-known secret formats (API keys, bearer tokens, JWTs, private keys, passwords in URLs). Default true. */
  secrets?: boolean;
  /** Redact e-mail addresses. Default true. */
  emails?: boolean;
  /** Further patterns of your own (customer ids, phone numbers, ...). */
  patterns?: (RegExp | RedactionRule)[];
  /** What replaces a secret. Default `[REDACTED]`. */
  replacement?: string;
  /**
   * Whether the span processors of `tracing.spanProcessors` receive spans redacted like the
   * built-in exporters (true, the default) or as recorded (false: the app redacts itself, or
   * needs the raw content). Every other road (exporters, logs, Sentry, the printer, the console)
   * is redacted whatever this says.
   */
  appSpanProcessors?: boolean;
}

/** A default secret pattern and the part of a match it keeps (`$1` of the pattern, or nothing). */
interface SecretRule {
  pattern: RegExp;
  /** Kept in front of the replacement: a readable scheme or parameter name (`Bearer `, `?token=`). */
  keep?: string;
}

const SECRET_RULES: readonly SecretRule[] = [
  // OpenAI / Anthropic style `sk-…`, `sk-proj-…`, `sk-ant-api03-…` (and pk-/rk-): a token with a
  // segment of 16+ key characters after at most 6 short hyphenated ones (bounded), starting only
  // where a token starts; the whole token goes (commits).
  { pattern: /(?<![A-Za-z0-9_-])(?:sk|pk|rk)-(?=(?:[A-Za-z0-9_]{0,15}-){0,6}[A-Za-z0-9_]{16})[A-Za-z0-9_-]+/g },
  // Langfuse keys (commits).
  { pattern: /\b(?:sk|pk)-lf-[A-Za-z0-9-]{8,}/g },
  // AWS access key ids (bounded).
  { pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b/g },
  // GitHub tokens (commits).
  { pattern: /\bgh[pousr]_[A-Za-z0-9]{30,}/g },
  { pattern: /\bgithub_pat_[A-Za-z0-9_]{30,}/g },
  // Slack tokens (commits).
  { pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}/g },
  // Google API keys (bounded).
  { pattern: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  // JWTs: three base64url segments, starting only where a base64url run starts (disjoint: each
  // run is scanned by at most three start positions: its own and the two before it).
  { pattern: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g },
  // Authorization credentials, the scheme kept readable (whitespace disjoint from the token; commits).
  { pattern: /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, keep: '$1 ' },
  // PEM private keys: the body runs to the next `-----` (never across another BEGIN), the END
  // line is optional so a clipped key is redacted too (commits).
  { pattern: /-----BEGIN [A-Z ]{0,64}PRIVATE KEY-----[^-]*(?:-(?!----)[^-]*)*(?:-----END [A-Z ]{0,64}PRIVATE KEY-----)?/g },
  // Passwords in URLs: `scheme://user:password@host`, the user kept; the scheme starts where a
  // run of scheme characters starts (bounded).
  { pattern: /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{0,15}:\/\/[^\s:/?#@]{0,256}:)[^\s/?#@]{1,256}(?=@)/g, keep: '$1' },
  // Credentials in query strings: `?password=…`, `&api_key=…`, `&token=…` (commits).
  { pattern: /([?&](?:password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|id_token|api[_-]?key|apikey|key|sig|signature)=)[^&#\s"'<>]+/gi, keep: '$1' },
];

/**
 * Well-known secret formats. Each is anchored on a distinctive prefix so that ordinary text is
 * not touched: OpenAI/Anthropic-style `sk-...`, Langfuse `pk-lf-`/`sk-lf-`, AWS access key ids,
 * GitHub, Slack and Google API tokens, JWTs, `Bearer`/`Basic` credentials, PEM private keys,
 * passwords in URLs (`https://user:password@host`) and credentials in query strings
 * (`?api_key=`, `&token=`, `&password=`). All linear-time.
 */
export const SECRET_PATTERNS: readonly RegExp[] = SECRET_RULES.map((r) => r.pattern);

/**
 * E-mail addresses (the practical subset of RFC 5322 that real addresses use). Matches start
 * only where a run of address characters starts (disjoint), the domain is at most 253
 * characters, as in DNS (bounded): linear-time.
 */
export const EMAIL_PATTERN = /(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,}/g;

/** What a text that could not be checked is replaced with. */
const UNCHECKED = '[REDACTED: could not be checked]';

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
      // `$` in a replacement of the options is literal text, not a group reference.
      const literal = replacement.replace(/\$/g, '$$$$');
      if (options.secrets !== false) {
        for (const r of SECRET_RULES) rules.push({ pattern: r.pattern, replacement: (r.keep ?? '') + literal });
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
      try {
        if (rule.pattern.test(out)) {
          rule.pattern.lastIndex = 0;
          out = out.replace(rule.pattern, rule.replacement);
        }
      } catch {
        // The engine gave up (its backtracking stack on a pathological input, an app pattern
        // that throws): nothing of a text that could not be checked leaves the process.
        return UNCHECKED;
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
