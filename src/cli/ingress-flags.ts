import type { Command } from 'commander';

/** The flags `berth server` (for its embedded agent) and `berth agent` share for the Ingress controller. */
export interface IngressFlags {
  disable: string[];
  ingressHttpPort: string;
  ingressHttpsPort: string;
  ingressHelpers: string;
}

/** Adds --disable (repeatable, k3s's name), --ingress-http-port, --ingress-https-port and --ingress-helpers. */
export function addIngressFlags(cmd: Command): Command {
  return cmd
    .option(
      '--disable <component>',
      'leave out a built-in component: ingress (repeatable, or a comma list)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--ingress-http-port <port>', 'the port the Ingress controller serves HTTP on', '80')
    .option(
      '--ingress-https-port <port>',
      'the port the Ingress controller serves HTTPS (and HTTP/2) on',
      '443',
    )
    .option(
      '--ingress-helpers <count>',
      'processes that accept and proxy the Ingress connections (0: the controller thread serves them); auto is one per CPU, at most 4',
      'auto',
    );
}
