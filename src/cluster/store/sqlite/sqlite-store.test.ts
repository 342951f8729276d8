import { join } from 'node:path';
import { tempDir } from '../../../../test/helpers/temp-dir.js';
import { storeSuite } from '../store-conformance.js';
import { openSqliteStore } from './sqlite-store.js';

const dir = tempDir('berth-sqlite-store-');
let n = 0;

storeSuite('sqlite', { open: async () => openSqliteStore(join(dir, `s${n++}.db`)) });
