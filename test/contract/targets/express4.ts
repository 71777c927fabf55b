// The Express target built with Express 4: the newest 4.x (`express4` is npm:express@^4) and the
// floor of the peer range (`express417` is npm:express@4.17.0). Same app, same adapter.
import express4 from 'express4';
import express417 from 'express417';
import { expressTargetOn } from './express';

export const express4Target = expressTargetOn('express4', express4, 'express4');
export const express417Target = expressTargetOn('express4.17', express417, 'express417');
