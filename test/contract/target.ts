import type { LlmscopeOptions } from '@llmscope/core';
import type { ContractRequest } from './scenario';

/**
 * Options a target passes to its adapter as they are. `identify` receives the framework's own
 * request, typed here as what every framework's request has (its headers), so that one
 * `identify` (scenario's `contractIdentify`) serves every target.
 */
export type ContractOptions = LlmscopeOptions<ContractRequest>;

/** A running app of one adapter, on 127.0.0.1. */
export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

/** One adapter under contract: builds the scenario app with its framework and listens. */
export interface ContractTarget {
  name: string;
  start(options?: ContractOptions): Promise<RunningApp>;
  /**
   * True when the app's own `close()` flushes llmscope's telemetry (the framework has a close
   * hook: Fastify's onClose, Nest's onApplicationShutdown). Express has none: its apps call
   * `shutdown()` on the middleware's instance themselves.
   */
  closeFlushes?: boolean;
  /**
   * The framework and the version of it that this target really runs (read from what is
   * installed or loaded, never typed in): checked against its row of docs/compatibility.md.
   */
  framework(): { name: string; version: string };
}
