// Run in a child process by split.test.ts: prints the assignments of user-0 … user-(N-1) of an
// experiment built from the same options, so the test can compare two processes.
import { PromptExperiment } from '../../src/prompts/experiment';

const [weights, salt, n] = [JSON.parse(process.argv[2] as string) as Record<string, number>, process.argv[3] as string, Number(process.argv[4])];
const experiment = new PromptExperiment('rag-answer', weights, salt, new Map(), undefined);
const out: string[] = [];
for (let i = 0; i < n; i++) out.push(experiment.assign(`user-${i}`));
process.stdout.write(JSON.stringify(out));
