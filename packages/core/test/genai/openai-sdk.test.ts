import OpenAI from 'openai';
import { describeOpenAI } from './openai-suite';

// openai 6 (the `openai` devDependency), on every Node version the packages support. openai 7
// needs Node 22: openai7-sdk.node22.test.ts runs the same suite against it.
describeOpenAI(6, OpenAI);
