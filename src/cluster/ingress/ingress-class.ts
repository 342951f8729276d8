/**
 * The IngressClass `berth` the server keeps: the built-in controller's class, marked the
 * cluster's default, and which Ingresses the node agents serve (that class, another class
 * naming the same controller, or none at all).
 */
import { isAlreadyExists } from '../../core/errors.js';
import type { KubeClient, KubeObject, Resource } from '../client/kube-client.js';

export const ingresses: Resource = {
  base: '/apis/networking.k8s.io/v1',
  plural: 'ingresses',
  namespaced: true,
};
export const ingressClasses: Resource = {
  base: '/apis/networking.k8s.io/v1',
  plural: 'ingressclasses',
  namespaced: false,
};

/** The Node annotation saying that the node's agent serves Ingresses (status.ts lists those nodes). */
export const SERVING_ANNOTATION = 'ingress.berth.dev/serving';

/** The class name the server creates. */
export const INGRESS_CLASS = 'berth';
/** `spec.controller` of classes the built-in controller serves. */
export const INGRESS_CONTROLLER = 'berth.dev/ingress';
const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
/** The class annotation older Ingresses carry instead of `spec.ingressClassName`. */
const LEGACY_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export function berthIngressClass(): KubeObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name: INGRESS_CLASS,
      annotations: { [DEFAULT_CLASS_ANNOTATION]: 'true' },
      labels: { 'app.kubernetes.io/managed-by': 'berth' },
    },
    spec: { controller: INGRESS_CONTROLLER },
  };
}

/** Makes the class if it is missing; one that exists is left as the user may have changed it. */
export async function ensureIngressClass(client: KubeClient): Promise<void> {
  try {
    await client.create(ingressClasses, undefined, berthIngressClass());
  } catch (e) {
    if (!isAlreadyExists(e)) throw e;
  }
}

/**
 * Whether the built-in controller serves `ing`, given the IngressClasses there are: its
 * class (field, or the legacy annotation) is `berth` or a class whose controller is ours, or
 * it names no class.
 */
export function servedByBerth(ing: KubeObject, classes: readonly KubeObject[]): boolean {
  const name =
    (ing.spec?.ingressClassName as string | undefined) ?? ing.metadata.annotations?.[LEGACY_CLASS_ANNOTATION];
  if (!name || name === INGRESS_CLASS) return true;
  return classes.some((c) => c.metadata.name === name && c.spec?.controller === INGRESS_CONTROLLER);
}
