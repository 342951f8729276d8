/**
 * The Ingress controller's command-line settings, shared by `berth server` (for its embedded
 * agent, the IngressClass and the status controller) and `berth agent`: `--disable` (k3s's
 * flag: repeatable, or a comma list) and the two ports.
 */

import { availableParallelism } from 'node:os';
import { invalidArgument } from '../../core/errors.js';
import type { IngressSettings } from './node-ingress.js';

/** The default number of helper processes: one per CPU (nginx's `worker_processes auto`), at most this many. */
const MAX_DEFAULT_HELPERS = 4;

export const defaultHelperCount = () => Math.min(availableParallelism(), MAX_DEFAULT_HELPERS);

/** The most helper processes --ingress-helpers takes. */
const MAX_HELPERS = 64;

/** The built-in components `--disable` can leave out. */
export const disableable = ['ingress'] as const;

/** Parses the `--disable` values (each may be a comma list); an unknown name is refused. */
export function disabledComponents(values: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const v of values)
    for (const name of v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      if (!(disableable as readonly string[]).includes(name))
        throw invalidArgument(
          `Invalid --disable "${name}": the components that can be disabled are ${disableable.join(', ')}`,
        );
      out.add(name);
    }
  return out;
}

function port(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < 0 || n > 65535)
    throw invalidArgument(`Invalid ${flag} "${v}": must be a port number (0 picks a free one)`);
  return n;
}

/** How many helper processes: a whole number up to 64, or `auto` (defaultHelperCount). */
function helperCount(v: string | undefined): number {
  if (v === undefined || v.trim() === 'auto') return defaultHelperCount();
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n > MAX_HELPERS)
    throw invalidArgument(
      `Invalid --ingress-helpers "${v}": must be a number of processes from 0 to ${MAX_HELPERS}, or auto`,
    );
  return n;
}

/** The ports to serve on and the helper count, or undefined when `--disable ingress` was given. */
export function ingressSettings(flags: {
  disable: readonly string[];
  ingressHttpPort: string;
  ingressHttpsPort: string;
  ingressHelpers?: string;
}): IngressSettings | undefined {
  const httpPort = port('--ingress-http-port', flags.ingressHttpPort);
  const httpsPort = port('--ingress-https-port', flags.ingressHttpsPort);
  const helpers = helperCount(flags.ingressHelpers);
  if (disabledComponents(flags.disable).has('ingress')) return undefined;
  return { httpPort, httpsPort, helpers };
}
