/** Finds the Chromium the browser test drives: `CHROMIUM_PATH`, else Debian's or another usual path. */
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable', '/snap/bin/chromium'];

/** How to get one, in the message of a run without it. */
export const INSTALL_HINT = 'install Chromium (Debian/Ubuntu: `sudo apt-get install -y --no-install-recommends chromium`; .ci/run does it) or set CHROMIUM_PATH to a Chromium or Chrome binary';

/** The browser's path, or undefined when none is found. */
export function findChromium(): string | undefined {
  const env = process.env.CHROMIUM_PATH;
  if (env !== undefined && env !== '') return existsSync(env) ? env : undefined;
  return CANDIDATES.find((p) => existsSync(p));
}
