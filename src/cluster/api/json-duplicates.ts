/**
 * Duplicate keys in a JSON text. JSON.parse keeps the last of them silently; Kubernetes'
 * strict decoding refuses them (fieldValidation=Strict) or warns (Warn). One pass over the
 * text, which must already have parsed as JSON.
 */

interface Frame {
  /** The keys seen so far, for an object; absent for an array. */
  keys?: Set<string>;
  path: string;
  /** The last key, in an object; the item index, in an array. */
  key: string;
  index: number;
}

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Paths (`spec.containers[0].name`) of every repeated key, in order, at most `max` of them. */
export function duplicateFields(text: string, max = 100): string[] {
  const out: string[] = [];
  const stack: Frame[] = [];
  const childPath = (top: Frame | undefined) => {
    if (!top) return '';
    if (!top.keys) return `${top.path}[${top.index}]`;
    return top.path ? `${top.path}.${top.key}` : top.key;
  };
  for (let i = 0; i < text.length && out.length < max; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
      const top = stack[stack.length - 1];
      if (!top?.keys) continue;
      let j = i + 1;
      while (j < text.length && isSpace(text.charCodeAt(j))) j++;
      if (text.charCodeAt(j) !== 0x3a /* : */) continue;
      const key = JSON.parse(text.slice(start, i + 1)) as string;
      if (top.keys.has(key)) out.push(top.path ? `${top.path}.${key}` : key);
      else top.keys.add(key);
      top.key = key;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      const path = childPath(stack[stack.length - 1]);
      stack.push({ ...(c === 0x7b ? { keys: new Set<string>() } : {}), path, key: '', index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top) top.index++;
    }
  }
  return out;
}
