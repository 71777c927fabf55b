/**
 * startPrometheus's failure path: a binary that cannot be started rejects with what to fix (the
 * readiness deadline's message would say "not ready within 60 s" instead). Its success path runs
 * in every test that starts a real Prometheus: core's guard and exemplar tests, the ops dashboard test.
 */
import { startPrometheus } from '../src';

test('a binary that cannot be started rejects with its path and the spawn error', async () => {
  await expect(startPrometheus({ binary: '/nonexistent/prometheus', job: 'x', targets: ['127.0.0.1:9'] }))
    .rejects.toThrow('prometheus could not start (/nonexistent/prometheus): spawn /nonexistent/prometheus ENOENT');
});
