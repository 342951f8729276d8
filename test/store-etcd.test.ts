// The etcd datastore passes the same conformance suite as SQLite, against a real etcd.
import { randomBytes } from 'node:crypto';
import { after, before } from 'node:test';
import { openEtcdStore } from '../src/cluster/store/etcd/etcd-store.js';
import { storeSuite } from '../src/cluster/store/store-conformance.js';
import { startEtcd } from './helpers/etcd.js';
import { type Sandbox, sandbox } from './helpers/sandbox.js';

let box: Sandbox;
let url = '';
before(async () => {
  box = await sandbox(undefined);
  url = (await startEtcd(box)).url;
});
after(() => box.cleanup());

storeSuite('etcd', {
  open: async () => openEtcdStore({ hosts: [url], root: `/t${randomBytes(3).toString('hex')}` }),
});
