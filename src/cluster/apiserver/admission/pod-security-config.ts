/**
 * The PodSecurity plugin's configuration as kube-apiserver reads it from
 * `--admission-control-config-file`: an AdmissionConfiguration (apiserver.config.k8s.io/v1)
 * whose PodSecurity entry holds, inline or in the file its `path` names, a
 * PodSecurityConfiguration (pod-security.admission.config.k8s.io/v1 or v1beta1) with the
 * levels and versions that namespaces without labels get (`defaults`) and the requests it
 * never judges (`exemptions`: usernames, runtimeClasses, namespaces). Other plugins' entries
 * are read by nobody here: Berth's other plugins take no configuration.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import { invalidArgument } from '../../../core/errors.js';
import type { Level } from './pod-security-checks.js';

export const podSecurityModes = ['enforce', 'audit', 'warn'] as const;
export type PodSecurityMode = (typeof podSecurityModes)[number];

export const podSecurityLevels: readonly Level[] = ['privileged', 'baseline', 'restricted'];
/** What a `-version` label or default may say: `latest` or `v1.x`. */
export const podSecurityVersion = /^(latest|v1\.(0|[1-9]\d*))$/;

/** What the plugin judges by when a namespace's labels say nothing, and whom it never judges. */
export interface PodSecurityConfig {
  /** Per mode: the level and version a namespace without that mode's labels gets. */
  defaults: Record<PodSecurityMode, { level: Level; version: string }>;
  exemptions: { usernames: string[]; runtimeClasses: string[]; namespaces: string[] };
}

/** Upstream's defaults: privileged at latest in every mode, no exemptions. */
export const defaultPodSecurityConfig: PodSecurityConfig = {
  defaults: {
    enforce: { level: 'privileged', version: 'latest' },
    audit: { level: 'privileged', version: 'latest' },
    warn: { level: 'privileged', version: 'latest' },
  },
  exemptions: { usernames: [], runtimeClasses: [], namespaces: [] },
};

// biome-ignore lint/suspicious/noExplicitAny: YAML read field by field below
type Any = any;

function readYaml(path: string, what: string): Any {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalidArgument(`Cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return parse(text);
  } catch (e) {
    throw invalidArgument(`Invalid ${what} ${path}: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Checks a PodSecurityConfiguration object and fills in what it leaves out. */
export function parsePodSecurityConfiguration(doc: Any, source: string): PodSecurityConfig {
  const bad = (what: string) => invalidArgument(`Invalid PodSecurity configuration in ${source}: ${what}`);
  if (!doc || typeof doc !== 'object') throw bad('not a PodSecurityConfiguration object');
  if (doc.kind !== 'PodSecurityConfiguration')
    throw bad(`kind is "${String(doc.kind)}", not PodSecurityConfiguration`);
  if (!/^pod-security\.admission\.config\.k8s\.io\/(v1|v1beta1)$/.test(String(doc.apiVersion)))
    throw bad(`apiVersion is "${String(doc.apiVersion)}", not pod-security.admission.config.k8s.io/v1`);
  const defaults = { ...defaultPodSecurityConfig.defaults };
  for (const mode of podSecurityModes) {
    const level = doc.defaults?.[mode] ?? 'privileged';
    const version = doc.defaults?.[`${mode}-version`] ?? 'latest';
    if (!podSecurityLevels.includes(level))
      throw bad(
        `defaults.${mode}: Invalid value: "${level}": must be one of privileged, baseline, restricted`,
      );
    if (typeof version !== 'string' || !podSecurityVersion.test(version))
      throw bad(
        `defaults.${mode}-version: Invalid value: "${version}": must be "latest" or of the form "v1.x"`,
      );
    defaults[mode] = { level, version };
  }
  const list = (key: string): string[] => {
    const v = doc.exemptions?.[key] ?? [];
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || !x))
      throw bad(`exemptions.${key} must be a list of non-empty names`);
    return v;
  };
  return {
    defaults,
    exemptions: {
      usernames: list('usernames'),
      runtimeClasses: list('runtimeClasses'),
      namespaces: list('namespaces'),
    },
  };
}

/**
 * Reads `--admission-control-config-file`: the PodSecurity plugin's configuration, or upstream's
 * defaults when the file has no PodSecurity entry. A relative `path` is relative to the file.
 */
export function readAdmissionConfiguration(path: string): PodSecurityConfig {
  const doc = readYaml(path, 'admission configuration');
  const bad = (what: string) => invalidArgument(`Invalid admission configuration ${path}: ${what}`);
  if (doc?.kind !== 'AdmissionConfiguration')
    throw bad(`kind is "${String(doc?.kind)}", not AdmissionConfiguration`);
  if (!/^apiserver\.(config\.)?k8s\.io\/(v1|v1alpha1)$/.test(String(doc.apiVersion)))
    throw bad(`apiVersion is "${String(doc.apiVersion)}", not apiserver.config.k8s.io/v1`);
  if (doc.plugins !== undefined && !Array.isArray(doc.plugins)) throw bad('plugins is not a list');
  const entry = (doc.plugins ?? []).find((p: Any) => p?.name === 'PodSecurity');
  if (!entry) return defaultPodSecurityConfig;
  if (entry.configuration !== undefined) return parsePodSecurityConfiguration(entry.configuration, path);
  if (typeof entry.path !== 'string' || !entry.path)
    throw bad('plugin PodSecurity has neither configuration nor path');
  const file = resolve(dirname(path), entry.path);
  return parsePodSecurityConfiguration(readYaml(file, 'PodSecurity configuration'), file);
}
