/**
 * `express4` is `npm:express@^4` (a dev dependency next to Express 5) for the Express 4 tests and
 * contract target. Typed loosely with Express 5's types: the API the tests use is the same.
 */
declare module 'express4' {
  import express = require('express');
  export = express;
}

/** `express417` is `npm:express@4.17.0`, the floor of the peer range, for the contract target of that version. */
declare module 'express417' {
  import express = require('express');
  export = express;
}
