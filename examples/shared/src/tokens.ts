// Words, numbers and single punctuation marks: roughly what a BPE tokenizer splits on.
const PIECES = /[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu;
const WORDS = /[\p{L}\p{N}]+/gu;

// Words that carry no meaning for retrieval; without this list every question matches every
// document on "the" and "is".
const STOP_WORDS = new Set([
  'a', 'an', 'and', 'are', 'as', 'at', 'be', 'by', 'can', 'do', 'does', 'for', 'from', 'how', 'i', 'if', 'in', 'is',
  'it', 'its', 'my', 'of', 'on', 'or', 'the', 'to', 'what', 'when', 'where', 'which', 'who', 'why', 'with', 'you', 'your',
  'get', 'me', 'there', 'this', 'that', 'use', 'much', 'will', 'have', 'has',
]);

/**
 * A deterministic token count close to what GPT-style tokenizers give for English (about four
 * characters a token): each punctuation mark is one token, each word one token per five letters.
 */
export function countTokens(text: string): number {
  let tokens = 0;
  for (const piece of text.match(PIECES) ?? []) tokens += Math.max(1, Math.ceil(piece.length / 5));
  return tokens;
}

/** Crude stemming so that "export" matches "exports" and "exporting". */
function stem(word: string): string {
  for (const suffix of ['ion', 'ing', 'es', 's', 'ed']) {
    if (word.length > suffix.length + 3 && word.endsWith(suffix) && !word.endsWith('ss')) return word.slice(0, -suffix.length);
  }
  return word;
}

/** The meaningful words of `text`: lower-cased, stemmed, stop words removed. */
export function contentWords(text: string): string[] {
  const out: string[] = [];
  for (const word of text.toLowerCase().match(WORDS) ?? []) {
    if (!STOP_WORDS.has(word)) out.push(stem(word));
  }
  return out;
}
