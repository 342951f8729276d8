/**
 * The Ingress controller's command-line settings, shared by `berth server` (for its embedded
 * agent, the IngressClass and the status controller) and `berth agent`: `--disable` (k3s's
 * flag: repeatable, or a comma list) and the two ports.
 */
import { invalidArgument } from '../../core/errors.js';
import type { IngressSettings } from './node-ingress.js';

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

/** The ports to serve on, or undefined when `--disable ingress` was given. */
export function ingressSettings(flags: {
  disable: readonly string[];
  ingressHttpPort: string;
  ingressHttpsPort: string;
}): IngressSettings | undefined {
  const httpPort = port('--ingress-http-port', flags.ingressHttpPort);
  const httpsPort = port('--ingress-https-port', flags.ingressHttpsPort);
  if (disabledComponents(flags.disable).has('ingress')) return undefined;
  return { httpPort, httpsPort };
}
