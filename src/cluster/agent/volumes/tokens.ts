/**
 * The ServiceAccount tokens of projected volumes, as the kubelet's token manager gets them:
 * from the TokenRequest API (the pod's ServiceAccount's `token` subresource), bound to the
 * pod (so they stop working when it is deleted), cached, and renewed once 80% of their life
 * has passed or they are older than a day.
 */
import type { KubeObject } from '../../client/kube-client.js';

/** What the API answers to a TokenRequest: the token and when it expires. */
export interface IssuedToken {
  token: string;
  expirationTimestamp: string;
}

/** Posts a TokenRequest for ServiceAccount `name` in `namespace`. */
export type RequestToken = (namespace: string, name: string, body: KubeObject) => Promise<IssuedToken>;

const DAY_MS = 24 * 3600 * 1000;

export class ServiceAccountTokens {
  private readonly cache = new Map<string, { token: string; issuedAt: number; expiresAt: number }>();

  constructor(
    private readonly request: RequestToken,
    private readonly now: () => number = Date.now,
  ) {}

  /** A token of `pod`'s ServiceAccount for `audience`, bound to the pod. */
  async get(pod: KubeObject, audience: string | undefined, expirationSeconds: number): Promise<string> {
    const ns = pod.metadata.namespace ?? 'default';
    const sa = pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? 'default';
    const uid = pod.metadata.uid ?? '';
    const key = `${uid}/${ns}/${sa}/${audience ?? ''}/${expirationSeconds}`;
    const cached = this.cache.get(key);
    if (cached && !this.dueForRenewal(cached)) return cached.token;
    const issuedAt = this.now();
    const answer = await this.request(ns, sa, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      metadata: {},
      spec: {
        ...(audience ? { audiences: [audience] } : {}),
        expirationSeconds,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid },
      },
    });
    const expiresAt = Date.parse(answer.expirationTimestamp) || issuedAt + expirationSeconds * 1000;
    this.cache.set(key, { token: answer.token, issuedAt, expiresAt });
    return answer.token;
  }

  private dueForRenewal(t: { issuedAt: number; expiresAt: number }): boolean {
    const age = this.now() - t.issuedAt;
    return age > 0.8 * (t.expiresAt - t.issuedAt) || age > DAY_MS;
  }

  /** Forgets the tokens of pod `uid` (it is gone). */
  forget(uid: string): void {
    for (const k of this.cache.keys()) if (k.startsWith(`${uid}/`)) this.cache.delete(k);
  }
}
