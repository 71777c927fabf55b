/** Inputs of the ReDoS test (redos.test.ts) and of the process it measures them in (redos-probe.ts). */

export const MB = 1 << 20;
/** The small size of the linearity check. */
export const SMALL = MB / 8;

export function fill(unit: string, length: number, prefix = ''): string {
  return (prefix + unit.repeat(Math.ceil(length / unit.length))).slice(0, length);
}

export /** Hostile inputs, by the pattern they target: repeated units, some after a prefix that opens a match. */
const HOSTILE: Record<string, { unit: string; prefix?: string }[]> = {
  'sk-': [{ unit: 'sk-' }, { unit: 'sk-a-' }, { unit: 'sk-aaaaaaaaaaaaaaa-' }, { unit: 'sk-aaaaaaaaaaaaaaa ' }, { unit: 'a', prefix: 'sk-' }, { unit: 'a-', prefix: 'sk-' }],
  'sk-lf-': [{ unit: 'sk-lf-' }, { unit: '-', prefix: 'pk-lf-' }],
  AKIA: [{ unit: 'AKIA' }, { unit: 'AKIAAAAAAAAAAAAAAAAA_' }],
  'gh*_': [{ unit: 'ghp_' }, { unit: 'a', prefix: 'ghp_' }, { unit: 'a_', prefix: 'ghp_' }, { unit: 'github_pat_' }],
  'xox*-': [{ unit: 'xoxb-' }, { unit: '-', prefix: 'xoxb-' }],
  AIza: [{ unit: 'AIza' }, { unit: 'AIza-' }],
  JWT: [{ unit: 'eyJ' }, { unit: 'eyJ-' }, { unit: 'eyJaaaaaaaa.' }, { unit: 'eyJaaaaaaaa.eyJaaaaaaaa.x ' }, { unit: 'a', prefix: 'eyJ' }],
  'Bearer/Basic': [{ unit: 'Bearer ' }, { unit: ' \t', prefix: 'Bearer' }, { unit: 'basic basic ' }],
  'PEM private key': [{ unit: '-----BEGIN PRIVATE KEY-----' }, { unit: '-a', prefix: '-----BEGIN PRIVATE KEY-----' }, { unit: 'PRIVATE ', prefix: '-----BEGIN ' }, { unit: '-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END' }],
  'URL password': [{ unit: 'https://u:' }, { unit: 'a://a:a' }, { unit: 'https://' }, { unit: 'a', prefix: 'https://user:' }],
  'query credential': [{ unit: '?token=&key' }, { unit: 'a', prefix: '?api_key=' }],
  'e-mail': [{ unit: 'a' }, { unit: 'aaaa@' }, { unit: 'a.', prefix: 'x@' }, { unit: 'a@a.a.' }, { unit: '@' }, { unit: 'a-', prefix: 'a@' }],
  'nested quotes': [{ unit: '"\'"\\"' }, { unit: '{"a":"' }],
};

export /** A benign 1 MB text: a chat transcript with prose, code, JSON, numbers and URLs, no secret. */
function benignText(length: number): string {
  const unit = [
    'The quick brown fox jumps over the lazy dog, said Mary to John at 10:30 on 2024-05-01. ',
    '{"role":"user","content":"How do I reset my password? See https://example.com/help?page=2#reset"} ',
    'function add(a, b) { return a + b; } // 42 items, 3.14 ratio, x-y-z and a_b_c tokens. ',
    'Skiing, desk-lamps, sk-8 skates and Basic ideas: nothing here is a secret. ',
  ].join('');
  return fill(unit, length);
}
