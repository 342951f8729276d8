import { invalidArgument } from '../../core/errors.js';

/** A container user as the OCI config wants it, plus the home folder for `HOME`. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#')) continue;
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (Number.isInteger(uid) && Number.isInteger(gid)) out.push({ name: f[0]!, uid, gid, home: f[5]! });
  }
  return out;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#')) continue;
    const gid = Number(f[2]);
    if (Number.isInteger(gid)) out.push({ name: f[0]!, gid, members: f[3]!.split(',').filter(Boolean) });
  }
  return out;
}

const isNumber = (s: string) => /^\d+$/.test(s);

/**
 * Resolves Docker's `USER[:GROUP]` (names or numbers) against the image's /etc/passwd and
 * /etc/group, as Docker does: a number need not exist in passwd, a name must; the
 * supplementary groups are the primary group (as dockerd and containerd set them since
 * CVE-2023-25173: a file denied to that group by its mode is then denied to the process) and
 * the groups that list the user by name. Errors use dockerd's words, which scripts match.
 *
 * @param user the `--user` value or the image's `User`; empty means root.
 * @param passwd the rootfs's /etc/passwd text ('' when the image has none).
 * @param group the rootfs's /etc/group text ('' when the image has none).
 */
export function resolveUser(user: string, passwd: string, group: string): ResolvedUser {
  const [userPart = '', groupPart] = (user || '0').split(':', 2);
  const users = parsePasswd(passwd);
  const groups = parseGroup(group);
  let entry: PasswdEntry | undefined;
  let uid: number;
  if (isNumber(userPart)) {
    uid = Number(userPart);
    entry = users.find((u) => u.uid === uid);
  } else {
    entry = users.find((u) => u.name === userPart);
    if (!entry) throw invalidArgument(`unable to find user ${userPart}: no matching entries in passwd file`);
    uid = entry.uid;
  }
  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (isNumber(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw invalidArgument(`unable to find group ${groupPart}: no matching entries in group file`);
      gid = g.gid;
    }
  }
  const additionalGids = [
    gid,
    ...(entry ? groups.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid) : []),
  ];
  return { uid, gid, additionalGids, home: entry?.home || '/' };
}

/** `--group-add` values as gids: numbers as they are, names from the image's /etc/group. */
export function resolveGroups(names: readonly string[], group: string): number[] {
  const groups = parseGroup(group);
  return names.map((n) => {
    if (isNumber(n)) return Number(n);
    const g = groups.find((x) => x.name === n);
    if (!g) throw invalidArgument(`unable to find group ${n}: no matching entries in group file`);
    return g.gid;
  });
}
