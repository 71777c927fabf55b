// The Express target built with Express 4 (`express4` is `npm:express@^4`): same app, same adapter.
import express4 from 'express4';
import { expressTargetOn } from './express';

export const express4Target = expressTargetOn('express4', express4);
