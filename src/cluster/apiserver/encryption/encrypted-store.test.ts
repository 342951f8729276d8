// The encrypting wrapper keeps the store contract: the shared conformance suite over SQLite,
// with every key the suite writes encrypted.
import { join } from 'node:path';
import { tempDir } from '../../../../test/helpers/temp-dir.js';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.js';
import { storeSuite } from '../../store/store-conformance.js';
import { EncryptedStore } from './encrypted-store.js';
import { transformerFor } from './transformer.js';

const dir = tempDir('berth-encstore-');
let n = 0;
const transformer = transformerFor([
  { aesgcm: { keys: [{ name: 'k', secret: Buffer.alloc(32, 1).toString('base64') }] } },
]);
storeSuite('encrypted sqlite', {
  open: async () =>
    new EncryptedStore(openSqliteStore(join(dir, `s${n++}.db`)), { rules: [{ prefix: '/t/', transformer }] }),
});
