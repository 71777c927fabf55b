/**
 * The outgoing-call scenarios on Node 22.12+ and 24, where `http`/`https` calls are seen through
 * the `http.client.request.created` diagnostics channel instead of the Node 20 wrapper (`npm test`
 * on Node 20 runs this file on Node 22 and 24: scripts/test-node-versions.mjs).
 */
import { ClientRequest } from 'node:http';
import { Llmscope } from '@llmscope/node';
import { outgoingScenarios } from './outgoing-scenarios';

outgoingScenarios(`outgoing calls carry the trace (Node ${process.versions.node}: http.client.request.created)`);

test('on this Node, Node\'s own ClientRequest is left as it is (the channel is used)', async () => {
  const scope = new Llmscope({ metrics: false });
  const implicitHeader = (ClientRequest.prototype as unknown as { _implicitHeader: () => void })._implicitHeader;
  expect(implicitHeader.name).toBe('_implicitHeader');
  await scope.shutdown();
});
