import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { OrchestratorMessage, ServerMessage } from './harness';

const TASKSET = existsSync('/usr/bin/taskset') ? '/usr/bin/taskset' : undefined;
const BENCH = join(__dirname, '..');
let built = false;

/**
 * Compiles the servers (tsconfig.servers.json → dist/), once per process, so that they run on
 * plain Node as users run a built app. Under `tsx`, Node's require(esm) is replaced by tsx's own
 * transform: ES-module-only packages (NestJS 12) ran as esbuild output, minified with a
 * `__name()` call on every function created, per request too (docs/performance.md, "NestJS: the
 * bench under tsx").
 */
function buildServers(): void {
  if (built) return;
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(BENCH, 'tsconfig.servers.json')], { stdio: 'inherit' });
  built = true;
}

/** A benchmark server in a process of its own, pinned to `core` when taskset exists. */
export class ServerProcess {
  private waiting: ((m: ServerMessage) => void)[] = [];

  private constructor(readonly child: ChildProcess, readonly port: number) {
    child.on('message', (m: ServerMessage) => {
      if (m.type === 'sample' || m.type === 'drive') this.waiting.shift()?.(m);
    });
  }

  /** `stdout: 'pipe'`: the server's standard output is read by the caller (`child.stdout`), not shown. */
  static async start(script: string, variant: string, env: Record<string, string | undefined>, core: number, nodeFlags: string[] = [], stdout: 'inherit' | 'pipe' = 'inherit'): Promise<ServerProcess> {
    buildServers();
    // BENCH_NODE_FLAGS: flags for every server (e.g. `--experimental-async-context-frame`, which
    // Node 22 does not take from NODE_OPTIONS).
    const extra = process.env.BENCH_NODE_FLAGS?.split(' ').filter((f) => f !== '') ?? [];
    const node = [...extra, ...nodeFlags, join(BENCH, 'dist', script.replace(/\.ts$/, '.js'))];
    const [cmd, args] = TASKSET ? [TASKSET, ['-c', String(core), process.execPath, ...node]] : [process.execPath, node];
    const child = spawn(cmd, args, {
      cwd: BENCH,
      env: { ...process.env, ...env, BENCH_VARIANT: variant, NODE_ENV: 'production' },
      stdio: ['ignore', stdout, 'inherit', 'ipc'],
    });
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${script} ${variant} did not start in 120 s`)), 120000);
      child.once('exit', (code) => reject(new Error(`${script} ${variant} exited with ${code}`)));
      child.on('message', (m: ServerMessage) => {
        if (m.type === 'ready' && m.port !== undefined) {
          clearTimeout(timer);
          resolve(m.port);
        }
      });
    });
    return new ServerProcess(child, port);
  }

  sample(gc = false): Promise<ServerMessage> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.send({ type: 'sample', gc } satisfies OrchestratorMessage);
    });
  }

  /** Asks a server started with BENCH_DRIVE to drive its own handler in process (harness.ts, drive.ts); waits for the figures. */
  drive(message: Extract<OrchestratorMessage, { type: 'drive' }>): Promise<ServerMessage> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.send(message);
    });
  }

  /** Sends a profiler command (harness.ts) and waits for its acknowledgement. */
  profiler(message: OrchestratorMessage): Promise<ServerMessage> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.send(message);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'exit' } satisfies OrchestratorMessage);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** Pins the current process (the load generator) to `core`. */
export function pinSelf(core: number): boolean {
  if (!TASKSET) return false;
  const r = spawn(TASKSET, ['-pc', String(core), String(process.pid)], { stdio: 'ignore' });
  return r.pid !== undefined;
}

/** The CPU time (user + system, µs) a bench server child reports when asked over IPC (it answers `{ cpu }`). */
export function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const on = (m: { cpu?: number }): void => {
      if (m.cpu === undefined) return;
      child.off('message', on);
      resolve(m.cpu);
    };
    child.on('message', on);
    child.send('cpu');
  });
}
