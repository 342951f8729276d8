import { ResourceRegistry } from '/work/wt-admission/src/cluster/api/resources.js';
import { memoryStore } from '/work/wt-admission/src/cluster/store/memory.js';
import { RestStorage } from '/work/wt-admission/src/cluster/apiserver/rest.js';
const reg = new ResourceRegistry();
const store = memoryStore();
const rest = new RestStorage(store);
(async () => {
await rest.ensure(reg.get('', 'v1', 'namespaces') as never, undefined, { metadata: { name: 'default' } });
const cm = reg.get('', 'v1', 'configmaps')!;
for (const d of [5000, 10000]) {
  const body = JSON.parse(`{"metadata":{"name":"d${d}"},"x":${'['.repeat(d)}${']'.repeat(d)}}`);
  try { await rest.create(cm, 'default', body, {}); console.log(d, 'ok'); } catch (e) { console.log(d, (e as Error).stack?.split('\n').slice(0,6).join('\n')); }
}

})();
