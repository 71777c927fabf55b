import type { RequestContext, RetrievedDocument } from '../context/context';

type Obj = Record<string, unknown>;

function str(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : undefined;
}

/** The id and text of one result item: a string, or an object in the usual shapes (LangChain, LlamaIndex, vector stores). */
function documentOf(item: unknown, maxLength: number): RetrievedDocument | undefined {
  let id: string | undefined;
  let text: string | undefined;
  if (typeof item === 'string') {
    text = item;
  } else if (item !== null && typeof item === 'object') {
    const o = item as Obj;
    const metadata = o.metadata !== null && typeof o.metadata === 'object' ? (o.metadata as Obj) : undefined;
    id = str(o.id) ?? str(o._id) ?? str(o.documentId) ?? str(metadata?.id);
    text = str(o.text) ?? str(o.pageContent) ?? str(o.content) ?? str(o.document) ?? str(metadata?.text);
  }
  if (text === undefined) return undefined;
  if (text.length > maxLength) text = `${text.slice(0, maxLength)}…`;
  return id === undefined ? { text } : { id, text };
}

/**
 * Keeps what a retrieval step returned on its request, for evaluators (groundedness, citation
 * accuracy): called by `step()` only when the owner's `documentCapture` is set. Bounded: at most
 * `maxDocuments` per request, texts clipped.
 */
export function keepRetrieved(ctx: RequestContext | undefined, result: unknown): void {
  const capture = ctx?.owner?.documentCapture;
  if (ctx === undefined || capture === undefined || !Array.isArray(result)) return;
  const kept = (ctx.documents ??= []);
  for (const item of result as unknown[]) {
    if (kept.length >= capture.maxDocuments) return;
    const doc = documentOf(item, capture.maxLength);
    if (doc !== undefined) kept.push(doc);
  }
}
