import type { LlmscopeOptions } from '@llmscope/core';

/** Options a target passes to its adapter (`identify` is framework-typed, so left out). */
export type ContractOptions = Omit<LlmscopeOptions, 'identify'>;

/** A running app of one adapter, on 127.0.0.1. */
export interface RunningApp {
  url: string;
  close(): Promise<void>;
}

/** One adapter under contract: builds the scenario app with its framework and listens. */
export interface ContractTarget {
  name: string;
  start(options?: ContractOptions): Promise<RunningApp>;
}
