import request from 'supertest';
import { Controller, Get, Injectable, Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { AbstractHttpAdapter, HttpAdapterHost, NestFactory } from '@nestjs/core';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { getContext, Llmscope, LlmscopeModule, LlmscopeService, LlmscopeConfigError, setUser } from '../src';
import { memoryExporter, waitForSpans, find, parseMetrics } from '@llmscope/testkit';
import { nestMajor } from '../../../test/compat/nest-major';
import { appModule, PLATFORMS, startNest, type Platform, type RunningNest } from './app';

const exporter = memoryExporter();

function serverSpans(spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.kind === SpanKind.SERVER);
}

async function metrics(url: string) {
  const res = await request(url).get('/metrics').expect(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(res.text);
}

/** Options that arrive through DI, as from a ConfigService. */
@Injectable()
class SettingsService {
  readonly unmatched = 'no-route';
}

@Module({ providers: [SettingsService], exports: [SettingsService] })
class SettingsModule {}

@Controller('mw')
class MiddlewareController {
  @Get('open')
  open(): { user: string | null } {
    return { user: getContext()?.userId ?? null };
  }

  @Get('closed')
  closed(): string {
    return 'never';
  }
}

/** Nest middleware (MiddlewareConsumer) that tags the request, and answers some requests itself. */
@Module({ imports: [LlmscopeModule.forRoot()], controllers: [MiddlewareController] })
class MiddlewareAppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply((req: { originalUrl?: string; url: string }, res: { statusCode: number; end(body: string): void }, next: () => void) => {
      setUser('middleware-user');
      if ((req.originalUrl ?? req.url).endsWith('/closed')) {
        res.statusCode = 401;
        res.end('unauthorised');
        return;
      }
      next();
    }).forRoutes('*');
  }
}

describe.each(PLATFORMS.map((p) => [p] as [Platform]))('Nest on %s', (platform) => {
  afterEach(() => exporter.reset());

  describe('forRoot, global prefix', () => {
    let nest: RunningNest;
    beforeAll(async () => {
      nest = await startNest(platform, appModule(LlmscopeModule.forRoot()), 'api');
    });
    afterAll(() => nest.close());

    test('route labels are the global prefix + controller path + handler path templates', async () => {
      await request(nest.url).get('/api/v1/items/1').expect(200, { id: '1' });
      await request(nest.url).get('/api/v1/items/2').expect(200, { id: '2' });
      await request(nest.url).post('/api/v1/items').send({ name: 'x' }).expect(201, { name: 'x' });
      const s = await metrics(nest.url);
      expect(find(s, 'http_server_requests_total', { route: '/api/v1/items/:id', method: 'GET', status_code: '200' })[0]?.value).toBe(2);
      expect(find(s, 'http_server_requests_total', { route: '/api/v1/items', method: 'POST', status_code: '201' })[0]?.value).toBe(1);
      const spans = serverSpans(await waitForSpans(exporter, (x) => serverSpans(x).length === 3));
      expect(spans.map((x) => x.name).sort()).toEqual(['GET /api/v1/items/:id', 'GET /api/v1/items/:id', 'POST /api/v1/items']);
      expect(spans[0]?.attributes['http.route']).toMatch(/^\/api\/v1\/items/);
    });

    test('404s, inside and outside the global prefix, get the unmatched label', async () => {
      await request(nest.url).get('/api/nothing/here').expect(404);
      await request(nest.url).get('/elsewhere/7').expect(404);
      await request(nest.url).delete('/api/v1/items/3').expect(404);
      const s = await metrics(nest.url);
      const unmatched = find(s, 'http_server_requests_total', { route: 'unmatched', status_code: '404' });
      expect(unmatched.reduce((sum, x) => sum + x.value, 0)).toBe(3);
      expect(find(s, 'http_server_requests_total').every((x) => x.labels.route === 'unmatched' || x.labels.route === '/metrics' || !x.labels.route?.includes('*'))).toBe(true);
      const spans = serverSpans(await waitForSpans(exporter, (x) => serverSpans(x).length === 3));
      expect(spans.every((x) => x.attributes['http.route'] === undefined && /^(GET|DELETE)$/.test(x.name))).toBe(true);
    });

    test('a guard rejection is recorded as 403 on its route', async () => {
      await request(nest.url).get('/api/denied').expect(403);
      const s = await metrics(nest.url);
      expect(find(s, 'http_server_requests_total', { route: '/api/denied', status_code: '403' })[0]?.value).toBe(1);
      const [span] = serverSpans(await waitForSpans(exporter, (x) => serverSpans(x).length === 1));
      expect(span?.attributes['http.response.status_code']).toBe(403);
      expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
      // The guard's ForbiddenException reaches Nest's exception layer, which llmscope listens to.
      expect(span?.events.some((e) => e.name === 'exception' && e.attributes?.['exception.type'] === 'ForbiddenException')).toBe(true);
    });

    test('the status an exception filter sets is the one recorded', async () => {
      await request(nest.url).get('/api/teapot').expect(418, { teapot: true });
      const s = await metrics(nest.url);
      expect(find(s, 'http_server_requests_total', { route: '/api/teapot', status_code: '418' })[0]?.value).toBe(1);
      const [span] = serverSpans(await waitForSpans(exporter, (x) => serverSpans(x).length === 1));
      expect(span?.attributes['http.response.status_code']).toBe(418);
      expect(span?.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('short and stout');
    });

    test('a thrown error gives 500, an ERROR span with the exception and a 5xx metric (sync and async)', async () => {
      await request(nest.url).get('/api/boom').expect(500);
      await request(nest.url).get('/api/async-boom').expect(500);
      const spans = serverSpans(await waitForSpans(exporter, (x) => serverSpans(x).length === 2));
      const boom = spans.find((x) => x.name === 'GET /api/boom');
      expect(boom?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'nest boom' });
      expect(boom?.events.find((e) => e.name === 'exception')?.attributes?.['exception.message']).toBe('nest boom');
      const asyncBoom = spans.find((x) => x.name === 'GET /api/async-boom');
      expect(asyncBoom?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'async nest boom' });
      expect(asyncBoom?.attributes['error.type']).toBe('TypeError');
      const s = await metrics(nest.url);
      expect(find(s, 'http_server_requests_total', { route: '/api/boom', status_code: '500' })[0]?.value).toBe(1);
      expect(find(s, 'http_server_requests_total', { route: '/api/async-boom', status_code: '500' })[0]?.value).toBe(1);
    });

    test('the Llmscope instance and LlmscopeService are injectable', () => {
      const scope = nest.app.get(Llmscope);
      expect(scope).toBeInstanceOf(Llmscope);
      expect(nest.app.get(LlmscopeService).llmscope).toBe(scope);
      expect(scope.metricsPath).toBe('/metrics');
    });
  });

  test('forRootAsync takes its options from a factory with injected providers', async () => {
    const module = LlmscopeModule.forRootAsync({
      imports: [SettingsModule],
      useFactory: async (settings: SettingsService) => ({ unmatchedRoute: settings.unmatched, metrics: { path: '/internal/metrics' } }),
      inject: [SettingsService],
    });
    const nest = await startNest(platform, appModule(module));
    try {
      await request(nest.url).get('/v1/items/5').expect(200);
      await request(nest.url).get('/nope').expect(404);
      const res = await request(nest.url).get('/internal/metrics').expect(200);
      const s = parseMetrics(res.text);
      expect(find(s, 'http_server_requests_total', { route: '/v1/items/:id', status_code: '200' })[0]?.value).toBe(1);
      expect(find(s, 'http_server_requests_total', { route: 'no-route', status_code: '404' })[0]?.value).toBe(1);
      await request(nest.url).get('/metrics').expect(404);
    } finally {
      await nest.close();
    }
  });

  test('invalid options fail the bootstrap with a message naming the option', async () => {
    const started = startNest(platform, appModule(LlmscopeModule.forRoot({ metrics: { paht: '/m' } } as never)));
    await expect(started).rejects.toThrow(LlmscopeConfigError);
    await expect(started).rejects.toThrow('unknown option `metrics.paht`');
    const fromFactory = startNest(platform, appModule(LlmscopeModule.forRootAsync({ useFactory: () => ({ maxTags: 0 }) })));
    await expect(fromFactory).rejects.toThrow('option `maxTags` must be a positive integer, got 0.');
  });

  test('Nest middleware runs inside the request context; a response it ends is recorded', async () => {
    const nest = await startNest(platform, MiddlewareAppModule);
    try {
      await request(nest.url).get('/mw/open').expect(200, { user: 'middleware-user' });
      await request(nest.url).get('/mw/closed').expect(401);
      const spans = serverSpans(await waitForSpans(exporter, (x) => serverSpans(x).length === 2));
      expect(spans.map((x) => [x.attributes['http.response.status_code'], x.attributes['user.id']]).sort()).toEqual([[200, 'middleware-user'], [401, 'middleware-user']]);
      const s = await metrics(nest.url);
      expect(find(s, 'http_server_requests_total', { route: '/mw/open', status_code: '200' })[0]?.value).toBe(1);
      expect(find(s, 'http_server_requests_total', { status_code: '401' })[0]?.value).toBe(1);
    } finally {
      await nest.close();
    }
  });

  // Nest 10 to 11.1.3 have no instrumentation hook (platform adapters implement setOnRequestHook
  // from 11.1.4). Here an adapter of this major is made one of those (the base class's method,
  // which ignores the hook, is what those adapters inherit): on Nest 11 and 12 this runs the
  // Nest 10 path on Express 5 and Fastify 5, and on Nest 10 it is what the adapter is anyway.
  test('an adapter without the instrumentation hook (Nest 10 to 11.1.3): Nest middleware still runs inside the context; a response it ends is recorded', async () => {
    const nest = await startNest(platform, MiddlewareAppModule, undefined, undefined, (adapter) => {
      if (typeof (adapter as { setOnRequestHook?: unknown }).setOnRequestHook === 'function') adapter.setOnRequestHook = AbstractHttpAdapter.prototype.setOnRequestHook;
    });
    try {
      await request(nest.url).get('/mw/open').expect(200, { user: 'middleware-user' });
      await request(nest.url).get('/mw/closed').expect(401);
      await request(nest.url).get('/missing').expect(404);
      const spans = serverSpans(await waitForSpans(exporter, (x) => serverSpans(x).length === 3));
      const users = new Map(spans.map((x) => [x.attributes['http.response.status_code'], x.attributes['user.id']]));
      expect([users.get(200), users.get(401), users.has(404)]).toEqual(['middleware-user', 'middleware-user', true]);
      const s = await metrics(nest.url);
      expect(find(s, 'http_server_requests_total', { route: '/mw/open', status_code: '200' })[0]?.value).toBe(1);
      expect(find(s, 'http_server_requests_total', { route: 'unmatched', status_code: '404' })[0]?.value).toBe(1);
    } finally {
      await nest.close();
    }
  });

  // Nest 10's adapters have no setOnRequestHook (Nest 11 added it): there, the app's own early
  // hooks are the platform's, added after create(), and they must run inside the context too.
  if (nestMajor() === '10') {
    test('Nest 10: no setOnRequestHook; an onRequest hook or Express middleware the app adds after create() runs inside the context', async () => {
      const seen: string[] = [];
      const hook = (_req: unknown, _res: unknown, done: () => void) => {
        seen.push(getContext() === undefined ? 'outside' : 'inside');
        done();
      };
      const nest = await startNest(platform, appModule(LlmscopeModule.forRoot()), undefined, (app) => {
        const instance = app.getHttpAdapter().getInstance() as { addHook?: (name: 'onRequest', fn: typeof hook) => void; use: (fn: typeof hook) => void };
        if (platform === 'fastify') instance.addHook?.('onRequest', hook);
        else instance.use(hook);
      }, (adapter) => expect((adapter as { setOnRequestHook?: unknown }).setOnRequestHook).toBeUndefined());
      try {
        await request(nest.url).get('/v1/items/1').expect(200);
        expect(seen).toEqual(['inside']);
      } finally {
        await nest.close();
      }
    });
  } else {
    test('request hooks the app sets on the Nest adapter, before or after create(), still run (inside the context)', async () => {
      const seen: string[] = [];
      const hook = (name: string) => (_req: unknown, _res: unknown, done: () => void) => {
        seen.push(`${name} ${getContext() === undefined ? 'outside' : 'inside'}`);
        done();
      };
      const nest = await startNest(platform, appModule(LlmscopeModule.forRoot()), undefined, (app) => {
        app.get(HttpAdapterHost).httpAdapter.setOnRequestHook(hook('after'));
      }, (adapter) => adapter.setOnRequestHook(hook('before')));
      try {
        await request(nest.url).get('/v1/items/1').expect(200);
        expect(seen).toEqual(['after inside']);
        if (platform === 'express') {
          // Express 5: requests start at the router's entry, before Nest's own first layer (which
          // runs the hook); no layer of llmscope's is added and the adapter's hook is the app's.
          const router = (nest.app.getHttpAdapter().getInstance() as { router: { handle: unknown; stack: { handle: { name: string } }[] } }).router;
          expect(Object.prototype.hasOwnProperty.call(router, 'handle')).toBe(true);
          expect(router.stack.map((l) => l.handle.name)).not.toContain('llmscopeMiddleware');
        }
        const withoutLater = await startNest(platform, appModule(LlmscopeModule.forRoot()), undefined, undefined, (adapter) => adapter.setOnRequestHook(hook('before')));
        await request(withoutLater.url).get('/v1/items/1').expect(200);
        await withoutLater.close();
        expect(seen).toEqual(['after inside', 'before inside']);
        const s = await metrics(nest.url);
        expect(find(s, 'http_server_requests_total', { route: '/v1/items/:id', status_code: '200' })[0]?.value).toBe(1);
      } finally {
        await nest.close();
      }
    });
  }

  test('user comes from identify() with the platform request', async () => {
    const module = LlmscopeModule.forRoot({ identify: (req) => ({ userId: String(req.headers['x-account'] ?? 'anon') }) });
    const nest = await startNest(platform, appModule(module));
    try {
      await request(nest.url).get('/v1/items/1').set('x-account', 'acct-9').expect(200);
      const [span] = serverSpans(await waitForSpans(exporter, (x) => serverSpans(x).length === 1));
      expect(span?.attributes['user.id']).toBe('acct-9');
    } finally {
      await nest.close();
    }
  });
});

test('without an HTTP server (an application context), LlmscopeService still records steps and LLM calls', async () => {
  @Module({ imports: [LlmscopeModule.forRoot()] })
  class WorkerModule {}
  const app = await NestFactory.createApplicationContext(WorkerModule, { logger: false, abortOnError: false });
  try {
    const service = app.get(LlmscopeService);
    const answer = await service.step('embed_query', () => service.traceLLM({ model: 'worker-model' }, async () => ({ usage: { input_tokens: 2, output_tokens: 1 } })));
    expect(answer.usage.input_tokens).toBe(2);
    const spans = await waitForSpans(exporter, (x) => x.length === 2);
    expect(spans.map((x) => x.name).sort()).toEqual(['chat worker-model', 'embed_query']);
  } finally {
    exporter.reset();
    await app.close();
  }
});
