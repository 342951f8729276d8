/**
 * The thread that parses large YAML request bodies: the yaml package takes seconds over a
 * 3 MiB body, and on the main thread those seconds would stop every other request.
 */
import { parentPort } from 'node:worker_threads';
import { parseYaml } from './yaml-options.js';

export type YamlRequest = { id: number; text: string };
export type YamlReply = { id: number; value: unknown; duplicates: string[] } | { id: number; error: string };

parentPort?.on('message', (m: YamlRequest) => {
  let reply: YamlReply;
  try {
    reply = { id: m.id, ...parseYaml(m.text) };
  } catch (e) {
    reply = { id: m.id, error: (e as Error)?.message ?? String(e) };
  }
  parentPort?.postMessage(reply);
});
