/**
 * Duplicate keys in a JSON text. JSON.parse keeps the last of them silently; Kubernetes'
 * strict decoding refuses them (fieldValidation=Strict) or warns (Warn). One pass over the
 * text, which must already have parsed as JSON; paths are only built for the duplicates.
 */

interface Frame {
  parent: Frame | undefined;
  /** A number for an object (its keys are remembered as `id:key`); undefined for an array. */
  id: number | undefined;
  /** The last key, in an object. */
  key: string;
  /** The item index, in an array. */
  index: number;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** `spec.containers[0]`: where a frame sits in the document. */
function pathOf(f: Frame | undefined): string {
  if (!f?.parent) return '';
  const up = pathOf(f.parent);
  if (f.parent.id === undefined) return `${up}[${f.parent.index}]`;
  return up ? `${up}.${f.parent.key}` : f.parent.key;
}

/** The index of the quote that ends the string whose opening quote is at `open`. */
function stringEnd(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  for (;;) {
    let slashes = 0;
    while (text.charCodeAt(q - 1 - slashes) === 0x5c) slashes++;
    if (slashes % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
}

/** Paths (`spec.containers[0].name`) of every repeated key, in order, at most `max` of them. */
export function duplicateFields(text: string, max = 100): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  let top: Frame | undefined;
  let objects = 0;
  for (let i = 0; i < text.length && out.length < max; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const start = i + 1;
      i = end;
      if (top?.id === undefined) continue;
      let j = end + 1;
      while (isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 0x3a /* : */) continue;
      const raw = text.slice(start, end);
      const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
      const id = `${top.id}:${key}`;
      if (seen.has(id)) {
        const at = pathOf(top);
        out.push(at ? `${at}.${key}` : key);
      } else seen.add(id);
      top.key = key;
    } else if (c === 0x7b /* { */) top = { parent: top, id: objects++, key: '', index: 0 };
    else if (c === 0x5b /* [ */) top = { parent: top, id: undefined, key: '', index: 0 };
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) top = top?.parent;
    else if (c === 0x2c /* , */ && top) top.index++;
  }
  return out;
}

/**
 * {@link duplicateFields} of a text that parsed as `value`. A text that is exactly what
 * JSON.stringify writes for its value has no repeated key (JSON.stringify writes each key of an
 * object once), and Node clients send just that: the embedded agent's and the controllers'
 * requests, several per pod, skip the scan of the text in JavaScript for one native pass over
 * the value. Any other text (indented, escaped differently, with repeats) is scanned.
 */
export function duplicateFieldsOf(text: string, value: unknown, max = 100): string[] {
  try {
    if (JSON.stringify(value) === text) return [];
  } catch (e) {
    // Nested past JSON.stringify's recursion: the scan has no such limit.
    if (!(e instanceof RangeError)) throw e;
  }
  return duplicateFields(text, max);
}
