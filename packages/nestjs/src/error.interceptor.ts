import { Inject, Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import { getContext, Llmscope } from '@llmscope/core';
import { tap, type Observable } from 'rxjs';

/**
 * Records, for the request lifecycle, the exceptions a handler, pipe or interceptor throws.
 * Nest catches them in its own exception layer and answers with a filter, so they never reach
 * the platform's error hooks the adapter listens to; the status is still taken from the
 * response. Registered globally by {@link LlmscopeModule}.
 */
@Injectable()
export class LlmscopeErrorInterceptor implements NestInterceptor {
  private readonly observer: { error: (error: unknown) => void };

  constructor(@Inject(Llmscope) private readonly scope: Llmscope) {
    // One observer for all requests: the request is found through its context, not a closure.
    this.observer = {
      error: (error: unknown) => {
        const ctx = getContext();
        if (ctx !== undefined && ctx.owner === this.scope) this.scope.recordError(ctx, error);
      },
    };
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    return next.handle().pipe(tap(this.observer));
  }
}
