// Builds the web client into im/dist/web (used when running the server from source and by the tests).
import { join } from 'node:path';
import { buildWeb, IM_DIR } from './web-build.mjs';

await buildWeb(join(IM_DIR, 'dist/web'));
console.log('web client built in dist/web');
