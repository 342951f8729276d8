/**
 * The controllers' ServiceAccounts in kube-system, as kube-controller-manager makes them with
 * `--use-service-account-credentials` (its SAControllerClientBuilder gets or creates the
 * account of each controller it starts): `kubectl get sa -n kube-system` lists
 * replicaset-controller, deployment-controller and the others that run. Berth's controllers
 * authenticate with tokens derived in memory (controller-policy.ts), so the objects are what
 * users and tools see rather than what the tokens rest on; one deleted is made again, where
 * upstream makes it again at its next start.
 */
import { isAlreadyExists } from '../../core/errors.js';
import { Resources } from '../client/kube-client.js';
import type { ControllerContext } from './context.js';

const NAMESPACE = 'kube-system';

/** Keeps one ServiceAccount per name in `accounts` in kube-system, writing as `ctx`'s client. */
export function startControllerAccounts(ctx: ControllerContext, accounts: ReadonlySet<string>): void {
  if (!accounts.size) return;
  const sas = ctx.informer(Resources.serviceaccounts);
  const q = ctx.queue(async (name) => {
    if (sas.get(`${NAMESPACE}/${name}`)) return;
    await ctx.client
      .create(Resources.serviceaccounts, NAMESPACE, {
        apiVersion: 'v1',
        kind: 'ServiceAccount',
        metadata: { name, namespace: NAMESPACE },
      })
      .catch((e: unknown) => {
        if (!isAlreadyExists(e)) throw e;
      });
  }, 1);
  for (const name of accounts) q.add(name);
  sas.onDelete((sa) => {
    if (sa.metadata.namespace === NAMESPACE && accounts.has(sa.metadata.name!)) q.add(sa.metadata.name!);
  });
}
