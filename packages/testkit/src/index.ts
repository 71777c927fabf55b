/**
 * @llmscope/testkit: real-protocol local backends (on 127.0.0.1, random ports) for tests and
 * examples. Each backend speaks the real wire format of the service it stands in for.
 * @packageDocumentation
 */
export {};
