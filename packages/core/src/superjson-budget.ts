import { CorbelError } from './errors.js';

/**
 * What decoding one superjson payload may cost. superjson (2.2) resolves every
 * annotation path from the root and steps into a Map or Set by iterating it
 * from its start, so a body under 1 MiB with a 60,000-entry Map and 20,000
 * annotations near its end costs ~10^9 steps: seconds of a blocked event
 * loop. These bounds keep the work linear in the body.
 */
export interface SuperjsonDecodeLimits {
  /**
   * Value annotations plus referential-equality paths (default 10,000).
   * superjson spends microseconds on each even when nothing is hostile, so
   * this is what bounds an honest-looking body (10,000 Dates decode in ~40 ms).
   */
  maxAnnotations: number;
  /** Segments in one annotation path, and nesting of the annotation tree (default 128). */
  maxPathSegments: number;
  /** Map/Set iteration steps superjson would take to resolve every path (default 2,000,000, ~10 ms). */
  maxLookupSteps: number;
  /** Elements of one typed array (default 1,000,000). */
  maxTypedArrayLength: number;
  /** Characters of one BigInt (default 4096; parsing is superlinear). */
  maxBigIntDigits: number;
}

export const DEFAULT_SUPERJSON_DECODE_LIMITS: SuperjsonDecodeLimits = {
  maxAnnotations: 10_000,
  maxPathSegments: 128,
  maxLookupSteps: 2_000_000,
  maxTypedArrayLength: 1_000_000,
  maxBigIntDigits: 4096,
};

type Path = string[];

/**
 * What decoding has cost so far, shared by the inputs of one request (the
 * calls of a batch) so that fifty calls do not get fifty budgets.
 */
export interface SuperjsonDecodeSpent {
  annotations: number;
  steps: number;
}

/**
 * Checks a superjson payload (`{ json, meta }`) before superjson decodes it:
 * throws CorbelError INPUT_TOO_COMPLEX (400) when decoding it would cost more
 * than `limits` allow, in time linear in the payload. A payload superjson's
 * own `serialize` wrote always passes: it annotates a Map's or Set's contents
 * before the collection itself, so value annotations never walk one.
 *
 * The check replays superjson's order of work (value annotations depth first,
 * children before their node, then referential equalities) and refuses:
 * a value annotation that points inside a Map or Set made by an earlier one
 * (superjson would iterate the collection for it); paths, trees and counts
 * past the limits; typed arrays whose source is not a bounded array; long
 * BigInts; and referential-equality lookups whose Map/Set steps add up past
 * `maxLookupSteps`.
 *
 * @example
 * checkSuperjsonInput(JSON.parse(body)); // throws before superjson.deserialize would stall
 */
export function checkSuperjsonInput(
  payload: unknown,
  limits: Partial<SuperjsonDecodeLimits> = {},
  spent: SuperjsonDecodeSpent = { annotations: 0, steps: 0 },
): void {
  if (typeof payload !== 'object' || payload === null) return;
  const meta = (payload as { meta?: unknown }).meta;
  if (meta === undefined || meta === null) return;
  const l = { ...DEFAULT_SUPERJSON_DECODE_LIMITS, ...limits };
  if (typeof meta !== 'object' || Array.isArray(meta)) refuse('"meta" must be an object');
  const { values, referentialEqualities, v } = meta as Record<string, unknown>;
  const legacy = !(typeof v === 'number' && v >= 1);
  const json = (payload as { json?: unknown }).json;
  const state = new DecodeState(l, json, spent);
  if (values !== undefined && values !== null) state.values(values, legacy);
  if (referentialEqualities !== undefined && referentialEqualities !== null) {
    state.equalities(referentialEqualities, legacy);
  }
}

function refuse(message: string): never {
  throw new CorbelError('INPUT_TOO_COMPLEX', `input could not be decoded: ${message}`);
}

/** A path segment as superjson's numeric lookups read it (`+key`), so "05" and "5" are one place. */
function norm(segment: string): string {
  const n = Number(segment);
  return Number.isInteger(n) ? String(n === 0 ? 0 : n) : segment;
}

const keyOf = (path: Path) => path.join('\u0000');

class DecodeState {
  /** Paths (normalized) a 'map' or 'set' annotation turned into a collection, in the order superjson does. */
  private readonly collections = new Map<string, 'map' | 'set'>();
  /** Referential equalities: a path now holds the object found at another. */
  private readonly aliases = new Map<string, Path>();
  /**
   * Set once a lookup entered a collection (an element may have moved) or an
   * alias made a collection reachable under a second path: from then on
   * every numeric step is counted as a full Map/Set walk, an upper bound.
   */
  private unstable = false;
  /** Counted when first needed: most payloads never step into a collection. */
  private elements: number | undefined;

  constructor(
    private readonly l: SuperjsonDecodeLimits,
    private readonly json: unknown,
    private readonly spent: SuperjsonDecodeSpent,
  ) {}

  values(tree: unknown, legacy: boolean): void {
    this.walkTree(tree, [], legacy, 0);
  }

  /** superjson's traversal of `meta.values`: object keys in order, a node's children before the node. */
  private walkTree(tree: unknown, origin: Path, legacy: boolean, depth: number): void {
    if (tree === undefined || tree === null) return;
    if (depth > this.l.maxPathSegments) refuse(`"meta.values" nests deeper than ${this.l.maxPathSegments}`);
    if (typeof tree !== 'object') refuse('"meta.values" holds a value that is neither a tree nor a node');
    if (!Array.isArray(tree)) {
      this.walkChildren(tree as Record<string, unknown>, origin, legacy, depth);
      return;
    }
    const [type, children] = tree as [unknown, unknown];
    if (children !== undefined && children !== null) {
      if (typeof children !== 'object' || Array.isArray(children))
        refuse('an annotation has malformed children');
      this.walkChildren(children as Record<string, unknown>, origin, legacy, depth);
    }
    this.value(type, origin);
  }

  /**
   * Own keys in Object.entries order (what superjson iterates), without
   * building the entries array: a refusal at the second of 20,000 keys
   * costs nothing for the other 19,998.
   */
  private walkChildren(tree: Record<string, unknown>, origin: Path, legacy: boolean, depth: number): void {
    for (const key in tree) {
      if (Object.hasOwn(tree, key))
        this.walkTree(tree[key], this.join(origin, key, legacy), legacy, depth + 1);
    }
  }

  private value(type: unknown, path: Path): void {
    this.count();
    const normalized = path.map(norm);
    // A collection on the way to this path was made by an earlier annotation:
    // superjson would iterate it from its start for this one.
    if (this.collections.size > 0) {
      let prefix = '';
      for (let i = 0; i < normalized.length; i++) {
        if (this.collections.has(prefix)) {
          refuse(
            `the annotation at "${shown(path)}" points inside a Map or Set converted before it; annotate a collection's contents before the collection (as superjson.serialize does)`,
          );
        }
        prefix = i === 0 ? normalized[0]! : `${prefix}\u0000${normalized[i]}`;
      }
    }
    if (type === 'map' || type === 'set') {
      this.collections.set(keyOf(normalized), type);
      return;
    }
    if (type === 'bigint') {
      const raw = rawAt(this.json, path);
      if (typeof raw === 'string' && raw.length > this.l.maxBigIntDigits) {
        refuse(`the BigInt at "${shown(path)}" has more than ${this.l.maxBigIntDigits} characters`);
      }
      return;
    }
    if (Array.isArray(type) && type[0] === 'typed-array') {
      const raw = rawAt(this.json, path);
      if (!Array.isArray(raw)) refuse(`the typed array at "${shown(path)}" is not made from an array`);
      if (raw.length > this.l.maxTypedArrayLength) {
        refuse(`the typed array at "${shown(path)}" has more than ${this.l.maxTypedArrayLength} elements`);
      }
    }
  }

  /** `meta.referentialEqualities`: `{ path: [identical paths] }`, or `[rootPaths, that object?]`. */
  equalities(annotations: unknown, legacy: boolean): void {
    if (typeof annotations !== 'object') refuse('"meta.referentialEqualities" must be an object or array');
    let groups: unknown = annotations;
    if (Array.isArray(annotations)) {
      const [root, other] = annotations as [unknown, unknown];
      for (const path of this.pathList(root)) this.alias(this.parse(path, legacy), []);
      groups = other;
    }
    if (groups === undefined || groups === null) return;
    if (typeof groups !== 'object' || Array.isArray(groups)) refuse('malformed referential equalities');
    for (const from in groups) {
      if (!Object.hasOwn(groups, from)) continue;
      const identical = (groups as Record<string, unknown>)[from];
      this.count();
      const target = this.lookup(this.parse(from, legacy));
      for (const path of this.pathList(identical)) this.alias(this.parse(path, legacy), target);
    }
  }

  private alias(path: Path, target: Path): void {
    this.count();
    const at = this.lookup(path);
    // The aliased object is reachable from two places now: if it holds a
    // collection, positions under `at` are no longer what they look like.
    if (!this.unstable && this.holdsCollection(target)) this.unstable = true;
    this.aliases.set(keyOf(at), target);
  }

  /** Resolves a path as superjson's getDeep/setDeep would, counting Map/Set iteration steps. */
  private lookup(path: Path): Path {
    let cur: Path = [];
    let entered = false;
    for (let i = 0; i < path.length; ) {
      const segment = path[i]!;
      const kind = this.unstable ? undefined : this.collections.get(keyOf(cur));
      if (this.unstable) {
        this.step(segment);
        cur.push(norm(segment));
        i++;
      } else if (kind === 'map') {
        entered = true;
        this.step(segment);
        // The segment after a row picks its key (0) or its value (anything else).
        cur.push(norm(segment), Number(path[i + 1]) === 0 ? '0' : '1');
        i += 2;
      } else if (kind === 'set') {
        entered = true;
        this.step(segment);
        cur.push(norm(segment));
        i++;
      } else {
        cur.push(norm(segment));
        i++;
      }
      const alias = this.aliases.get(keyOf(cur));
      if (alias) cur = [...alias];
    }
    if (entered) this.unstable = true;
    return cur;
  }

  /** One step into what may be a Map or Set: iterating up to the index. */
  private step(segment: string): void {
    const n = Number(segment);
    this.elements ??= countArrayElements(this.json);
    this.spent.steps += (n > 0 ? Math.min(n, this.elements) : 0) + 1;
    if (this.spent.steps > this.l.maxLookupSteps) {
      refuse(`resolving its referential equalities takes more than ${this.l.maxLookupSteps} Map/Set steps`);
    }
  }

  private holdsCollection(target: Path): boolean {
    if (this.collections.size === 0) return false;
    const prefix = keyOf(target);
    for (const key of this.collections.keys()) {
      if (target.length === 0 || key === prefix || key.startsWith(`${prefix}\u0000`)) return true;
      // The target itself inside a collection: a moving element.
      if (prefix.startsWith(`${key}\u0000`)) return true;
    }
    return false;
  }

  private pathList(list: unknown): string[] {
    if (!Array.isArray(list) || !list.every((p) => typeof p === 'string')) {
      refuse('referential equalities must be lists of paths');
    }
    return list as string[];
  }

  private join(origin: Path, key: string, legacy: boolean): Path {
    return [...origin, ...this.parse(key, legacy)];
  }

  private parse(key: string, legacy: boolean): Path {
    const path = parsePath(key, legacy, this.l.maxPathSegments);
    if (path.length > this.l.maxPathSegments)
      refuse(`an annotation path has more than ${this.l.maxPathSegments} segments`);
    return path;
  }

  private count(): void {
    if (++this.spent.annotations > this.l.maxAnnotations)
      refuse(`more than ${this.l.maxAnnotations} annotations`);
  }
}

/**
 * superjson's path syntax: segments separated by ".", "\." an escaped dot and
 * (from meta.v 1) "\\" an escaped backslash. Stops counting past `max`.
 */
function parsePath(key: string, legacy: boolean, max: number): Path {
  const out: Path = [];
  let segment = '';
  for (let i = 0; i < key.length; i++) {
    const c = key[i]!;
    if (c === '\\' && key[i + 1] === '.') {
      segment += '.';
      i++;
    } else if (!legacy && c === '\\' && key[i + 1] === '\\') {
      segment += '\\';
      i++;
    } else if (c === '.') {
      out.push(segment);
      segment = '';
      if (out.length > max) return out;
    } else segment += c;
  }
  out.push(segment);
  return out;
}

/** The value at `path` in the plain JSON (before any annotation), read as setDeep reads it. */
function rawAt(json: unknown, path: Path): unknown {
  let node: unknown = json;
  for (const segment of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    // setDeep indexes arrays with `+key` and objects with the key as written.
    const key = Array.isArray(node) ? norm(segment) : segment;
    node = Object.hasOwn(node, key) ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node;
}

/** Every array element in the JSON: no Map or Set can be longer, so no step can cost more. */
function countArrayElements(json: unknown): number {
  let total = 0;
  const stack: unknown[] = [json];
  while (stack.length) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null) continue;
    if (Array.isArray(node)) {
      total += node.length;
      for (const item of node) if (typeof item === 'object' && item !== null) stack.push(item);
    } else {
      for (const item of Object.values(node)) if (typeof item === 'object' && item !== null) stack.push(item);
    }
  }
  return total;
}

function shown(path: Path): string {
  const text = path.join('.');
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
