/**
 * The parts of a pod's container the runtime needs beyond its process: the effective
 * securityContext, its cgroup values, where its termination message goes, and the
 * credentials of the pod's imagePullSecrets. Also the kubelet's rule for reading the
 * termination message back.
 */
import type { KubeObject } from '../client/kube-client.js';
import type { ObjectSource } from './container-config.js';
import { type PullCredential, pullCredentials } from './pull-secrets.js';
import { type CgroupValues, containerCgroup } from './qos.js';
import { effectiveSecurity, type SecuritySettings } from './security-context.js';

export type TerminationMessagePolicy = 'File' | 'FallbackToLogsOnError';

export interface ContainerSpecExtras {
  security: SecuritySettings;
  resources: CgroupValues;
  /** Where the container may write why it ended (Kubernetes' default `/dev/termination-log`). */
  terminationMessagePath: string;
  terminationMessagePolicy: TerminationMessagePolicy;
  pullCredentials: PullCredential[];
}

/** The extras of container `c` of `pod`; ConfigError when its securityContext cannot be run. */
export async function containerSpec(
  pod: KubeObject,
  // biome-ignore lint/suspicious/noExplicitAny: a container of the pod spec
  c: any,
  source: ObjectSource,
): Promise<ContainerSpecExtras> {
  return {
    security: effectiveSecurity(pod.spec, c),
    resources: containerCgroup(c),
    terminationMessagePath: c.terminationMessagePath || '/dev/termination-log',
    terminationMessagePolicy:
      c.terminationMessagePolicy === 'FallbackToLogsOnError' ? 'FallbackToLogsOnError' : 'File',
    pullCredentials: await pullCredentials(pod, source),
  };
}

/** The kubelet's limits: 4096 bytes of the file; the last 80 lines, up to 2048 bytes, of the log. */
export const MAX_MESSAGE_BYTES = 4096;
export const FALLBACK_LOG_LINES = 80;
const MAX_FALLBACK_BYTES = 2048;

/**
 * The terminated state's message: the file's text, or with FallbackToLogsOnError and a
 * failed, silent container, the end of its log.
 */
export function terminationMessage(
  file: string,
  policy: TerminationMessagePolicy,
  exitCode: number,
  logTail: () => string,
): string {
  if (file || policy !== 'FallbackToLogsOnError' || exitCode === 0) return file;
  const log = Buffer.from(logTail());
  return log.subarray(Math.max(0, log.length - MAX_FALLBACK_BYTES)).toString('utf8');
}
