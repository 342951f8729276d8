/**
 * The nesting limit of request bodies: Kubernetes' JSON decoder stops at 10,000 levels, and a
 * body past it is the client's error (400), found by one pass over the text before anything
 * recursive (parsing, copying, encoding) sees it.
 */

/** The deepest nesting a JSON body may have (sigs.k8s.io/json's limit). */
export const maxJsonDepth = 10_000;

/** The body's deepest nesting of objects and arrays, counting only brackets outside strings. */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return deepest;
}
