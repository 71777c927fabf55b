/** The live request list over server-sent events: new requests batched, serialised only while someone listens. */
import type { OwnRouteStream } from '@llmscope/core';
import type { ConsoleStore } from './store';
import type { RequestView } from './views';

const FLUSH_MS = 250;
const HEARTBEAT_MS = 15_000;
/** Open event streams at most (a console is for a few developers). */
export const MAX_CLIENTS = 32;

/** Fans finished requests out to the open event streams. */
export class LiveFeed {
  private readonly clients = new Set<(chunk: string) => void>();
  private pending: RequestView[] = [];
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly unsubscribe: () => void;

  /** `shown`: a request as the API shows it (redacted), applied when a batch is sent, not per request. */
  constructor(store: ConsoleStore, private readonly shown: (r: RequestView) => RequestView = (r) => r) {
    this.unsubscribe = store.onRequest((r) => {
      // Nobody listening: nothing kept, nothing serialised.
      if (this.clients.size === 0) return;
      this.pending.push(r);
      this.timer ??= setTimeout(() => this.flush(), FLUSH_MS).unref();
    });
  }

  get size(): number {
    return this.clients.size;
  }

  private flush(): void {
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const chunk = `event: requests\ndata: ${JSON.stringify(batch.map(this.shown))}\n\n`;
    for (const send of this.clients) send(chunk);
  }

  /** A new event stream (the caller checked {@link MAX_CLIENTS}). */
  stream(headers: Record<string, string>): OwnRouteStream {
    return {
      status: 200,
      headers: { ...headers, 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' },
      start: (send) => {
        this.clients.add(send);
        send(': connected\nretry: 2000\n\n');
        this.heartbeat ??= setInterval(() => {
          for (const s of this.clients) s(': ping\n\n');
        }, HEARTBEAT_MS).unref();
        return () => {
          this.clients.delete(send);
          if (this.clients.size === 0 && this.heartbeat !== undefined) {
            clearInterval(this.heartbeat);
            this.heartbeat = undefined;
          }
        };
      },
    };
  }

  close(): void {
    this.unsubscribe();
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.clients.clear();
  }
}
