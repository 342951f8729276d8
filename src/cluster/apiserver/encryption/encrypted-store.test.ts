// The encrypting wrapper keeps the store contract: the shared conformance suite over SQLite,
// with every key the suite writes encrypted.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openSqliteStore } from '../../store/sqlite/sqlite-store.js';
import { storeSuite } from '../../store/store-conformance.js';
import { EncryptedStore } from './encrypted-store.js';
import { transformerFor } from './transformer.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-encstore-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const transformer = transformerFor([
  { aesgcm: { keys: [{ name: 'k', secret: Buffer.alloc(32, 1).toString('base64') }] } },
]);
storeSuite('encrypted sqlite', {
  open: async () =>
    new EncryptedStore(openSqliteStore(join(dir, `s${n++}.db`)), { rules: [{ prefix: '/t/', transformer }] }),
});
