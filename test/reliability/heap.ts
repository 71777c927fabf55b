import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

// A real GC between heap samples, so that growth means retained memory, not garbage.
setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/** Heap used after two full collections, bytes. */
export function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
