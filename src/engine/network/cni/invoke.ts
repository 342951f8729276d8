import { join } from 'node:path';
import { BerthError } from '../../../core/errors.js';
import { type RunResult, run } from '../../../core/exec.js';
import { logger } from '../../../core/log.js';

const log = logger('cni');

/** Where Debian's containernetworking-plugins install the plugins. */
export const CNI_PATH = process.env.BERTH_CNI_PATH ?? '/usr/lib/cni';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

/** The parts of a CNI result Berth reads (spec 1.0). */
export interface CniResult {
  cniVersion: string;
  interfaces?: { name: string; mac?: string; sandbox?: string }[];
  ips?: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: { nameservers?: string[] };
}

export interface CniInvocation {
  command: CniCommand;
  containerId: string;
  /** Path of the container's network namespace. */
  netns: string;
  ifName: string;
  /** The plugin's own config (with name, cniVersion, prevResult, runtimeConfig filled in). */
  config: Record<string, unknown>;
}

/**
 * Runs one CNI plugin by the CNI protocol: the command and the container in the
 * environment, the config on stdin, a result or an error as JSON on stdout. A plugin's error
 * (`{code, msg, details}`) becomes an Unavailable BerthError carrying the plugin's words.
 */
export function invokePlugin(inv: CniInvocation): Promise<CniResult | undefined> {
  const type = String(inv.config.type ?? '');
  if (!/^[a-z0-9_-]+$/.test(type)) {
    return Promise.reject(new BerthError('InvalidArgument', `Invalid CNI plugin type "${type}"`));
  }
  return runPlugin(type, inv);
}

async function runPlugin(type: string, inv: CniInvocation): Promise<CniResult | undefined> {
  let r: RunResult;
  try {
    r = await run(join(CNI_PATH, type), [], {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        CNI_COMMAND: inv.command,
        CNI_CONTAINERID: inv.containerId,
        CNI_NETNS: inv.netns,
        CNI_IFNAME: inv.ifName,
        CNI_PATH,
      },
      input: JSON.stringify(inv.config),
      check: false,
    });
  } catch (e) {
    throw new BerthError(
      'Unavailable',
      `Cannot run CNI plugin "${type}" from ${CNI_PATH}: ${(e as Error).message}; run scripts/install-deps`,
    );
  }
  const text = r.stdout.trim();
  if (r.code !== 0 || r.signal) {
    let msg = r.stderr.trim() || text;
    try {
      const e = JSON.parse(text) as { code?: number; msg?: string; details?: string };
      msg = `${e.msg ?? 'failed'}${e.details ? `: ${e.details}` : ''}`;
    } catch {
      /* not JSON: the plugin's own words as they are */
    }
    throw new BerthError('Unavailable', `CNI plugin "${type}" ${inv.command} failed: ${msg}`);
  }
  if (!text) return undefined;
  try {
    return JSON.parse(text) as CniResult;
  } catch {
    throw new BerthError(
      'Internal',
      `CNI plugin "${type}" answered with something other than JSON: ${text.slice(0, 200)}`,
    );
  }
}

/** A network configuration list: the plugins applied in order for one network. */
export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

/** Capability arguments (CNI conventions) handed to the plugins that declare them. */
export interface RuntimeConfig {
  portMappings?: { hostPort: number; containerPort: number; protocol: string; hostIP?: string }[];
  mac?: string;
  ips?: string[];
}

function pluginConfig(
  list: ConfList,
  plugin: Record<string, unknown>,
  rc: RuntimeConfig,
  prev?: CniResult,
): Record<string, unknown> {
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const runtimeConfig: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rc)) if (caps[k] && v !== undefined) runtimeConfig[k] = v;
  const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
  if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
  if (prev) conf.prevResult = prev;
  return conf;
}

/** ADD through a list: each plugin gets the previous one's result; the last result is returned. */
export async function addNetworkList(
  list: ConfList,
  containerId: string,
  netns: string,
  ifName: string,
  rc: RuntimeConfig,
): Promise<CniResult> {
  let prev: CniResult | undefined;
  for (const p of list.plugins) {
    const t0 = performance.now();
    const r = await invokePlugin({
      command: 'ADD',
      containerId,
      netns,
      ifName,
      config: pluginConfig(list, p, rc, prev),
    });
    if (r) prev = r;
    log.debug('CNI ADD', { network: list.name, plugin: p.type, ms: Math.round(performance.now() - t0) });
  }
  if (!prev) throw new BerthError('Internal', `Network "${list.name}": the CNI plugins returned no result`);
  return prev;
}

/**
 * DEL through a list in reverse order. DEL must succeed even when parts are already gone,
 * so every plugin is tried and the first error is reported after all have run.
 */
export async function delNetworkList(
  list: ConfList,
  containerId: string,
  netns: string,
  ifName: string,
  rc: RuntimeConfig,
  prev?: CniResult,
): Promise<void> {
  let first: Error | undefined;
  for (const p of [...list.plugins].reverse()) {
    try {
      await invokePlugin({
        command: 'DEL',
        containerId,
        netns,
        ifName,
        config: pluginConfig(list, p, rc, prev),
      });
    } catch (e) {
      first ??= e as Error;
    }
  }
  if (first) throw first;
}
