/** Docker-shaped views of images, shared by every front end. */
import type { ImageRow } from './image-index.js';
import { familiarName } from './reference.js';

/** Docker's image summary (`GET /images/json`, `docker images --format json`). */
export function imageSummary(r: ImageRow): Record<string, unknown> {
  return {
    Id: r.id,
    ParentId: '',
    RepoTags: r.names.map(familiarName),
    RepoDigests: r.digests.map(familiarName),
    Created: Math.floor(Date.parse(r.created) / 1000),
    Size: r.size,
    SharedSize: -1,
    Labels: null,
    Containers: -1,
  };
}

/** Whether `ref` names the image (a familiar or full name prefix, as `docker images REF`). */
export function imageMatches(r: ImageRow, ref: string | undefined): boolean {
  return !ref || r.names.some((n) => familiarName(n).startsWith(ref) || n.startsWith(ref));
}
