/**
 * The size limits every request and every stored object is held to, Kubernetes' figures:
 * they make each request's work linear in its bytes, so one request cannot stall or exhaust
 * the server.
 */

/** The request body limit (kube-apiserver's MaxRequestBodyBytes). */
export const maxRequestBytes = 3 * 1024 * 1024;
/** The largest object stored, as etcd's default request limit makes it upstream. */
export const maxObjectBytes = 1.5 * 1024 * 1024;
/** Operations in one JSON patch (kube-apiserver's maxJSONPatchOperations). */
export const maxJsonPatchOperations = 10_000;
/** Bytes all `copy` operations of one JSON patch may add together (AccumulatedCopySizeLimit). */
export const maxJsonPatchCopyBytes = maxRequestBytes;
