/**
 * Outgoing calls carry the trace, on the Node that runs the suite (the scenarios are in
 * outgoing-scenarios.ts; outgoing.node22.test.ts runs them on Node 22 and 24 too).
 */
import { outgoingScenarios } from './outgoing-scenarios';

outgoingScenarios('outgoing calls carry the trace');
