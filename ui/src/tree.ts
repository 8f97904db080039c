// The variables tree: paths split into segments, nodes for every prefix,
// changed marking and sorting, and the flat list of visible rows a view
// draws (so the DOM holds only what is on screen).

/**
 * Splits a path into its segments: `model.fc1.weight` → model, fc1, weight;
 * `history[3]` → history, [3]; `df["a.b"]` → df, ["a.b"]. Brackets keep
 * their delimiters (so joining the segments gives the path back), quoted
 * keys may hold dots and brackets, and `train:loss` (a function's local)
 * and `$rng.numpy` (an internal root) are single roots.
 */
export function splitPath(path: string): string[] {
  const out: string[] = [];
  let i = 0;
  let cur = '';
  const n = path.length;
  // `$rng.numpy` is one name (internal roots are dotted).
  if (path.startsWith('$')) {
    const b = path.indexOf('[');
    const root = b < 0 ? path : path.slice(0, b);
    out.push(root);
    i = root.length;
  }
  while (i < n) {
    const c = path[i];
    if (c === '.' && cur !== '' ) {
      out.push(cur);
      cur = '';
      i += 1;
      continue;
    }
    if ((c === '[' || c === '{') && (cur !== '' || out.length > 0)) {
      if (cur !== '') out.push(cur);
      const close = c === '[' ? ']' : '}';
      let j = i + 1;
      let quote: string | null = null;
      let depth = 1;
      while (j < n && depth > 0) {
        const d = path[j];
        if (quote) {
          if (d === '\\') j += 1;
          else if (d === quote) quote = null;
        } else if (d === '"' || d === "'") {
          quote = d;
        } else if (d === c) {
          depth += 1;
        } else if (d === close) {
          depth -= 1;
        }
        j += 1;
      }
      out.push(path.slice(i, j));
      cur = '';
      i = j;
      continue;
    }
    if (c === '.' && cur === '' && out.length > 0) {
      // The dot after a bracket: `a[0].b`.
      i += 1;
      continue;
    }
    cur += c;
    i += 1;
  }
  if (cur !== '') out.push(cur);
  return out;
}

/** Joins segments back into a path (`a`, `b`, `[0]` → `a.b[0]`). */
export function joinPath(segments: readonly string[]): string {
  let out = '';
  for (const s of segments) {
    if (out === '' || s.startsWith('[') || s.startsWith('{')) out += s;
    else out += `.${s}`;
  }
  return out;
}

export interface TreeNode<T> {
  /** The full path of this node. */
  path: string;
  /** The last segment, as shown. */
  name: string;
  depth: number;
  /** The object stored at this path; null for a prefix that only groups children. */
  item: T | null;
  children: TreeNode<T>[];
  /** Its own object changed since the previous snapshot. */
  changed: boolean;
  /** Some node below it changed (a collapsed node shows it). */
  changedBelow: boolean;
  /** Capture order of the first item at or under it. */
  order: number;
}

/**
 * Builds the tree of `items` (in capture order) by path. Every prefix of a
 * path becomes a node (without an item when nothing is stored there);
 * `changed` paths are marked, and their ancestors know something below changed.
 */
export function buildTree<T>(
  items: readonly T[],
  pathOf: (item: T) => string,
  changed: ReadonlySet<string> = new Set(),
): TreeNode<T>[] {
  const roots: TreeNode<T>[] = [];
  const byPath = new Map<string, TreeNode<T>>();
  items.forEach((item, order) => {
    const path = pathOf(item);
    const segs = splitPath(path);
    let siblings = roots;
    let parent: TreeNode<T> | null = null;
    for (let d = 0; d < segs.length; d++) {
      const p = d === segs.length - 1 ? path : joinPath(segs.slice(0, d + 1));
      let node = byPath.get(p);
      if (!node) {
        node = {
          path: p,
          name: segs[d],
          depth: d,
          item: null,
          children: [],
          changed: false,
          changedBelow: false,
          order,
        };
        byPath.set(p, node);
        siblings.push(node);
      }
      parent = node;
      siblings = node.children;
    }
    if (parent) parent.item = item;
  });
  for (const path of changed) {
    const node = byPath.get(path);
    if (!node) continue;
    node.changed = true;
    const segs = splitPath(path);
    for (let d = segs.length - 1; d > 0; d--) {
      const anc = byPath.get(joinPath(segs.slice(0, d)));
      if (anc) anc.changedBelow = true;
    }
  }
  return roots;
}

/** Compares segment names naturally: `[2]` before `[10]`, `layer2` before `layer10`. */
export function naturalCompare(a: string, b: string): number {
  const ra = /^\[(-?\d+)\]$/.exec(a);
  const rb = /^\[(-?\d+)\]$/.exec(b);
  if (ra && rb) return Number(ra[1]) - Number(rb[1]);
  return a.localeCompare(b, undefined, { numeric: true, sensitivity: 'base' });
}

export type SortMode = 'capture' | 'name' | 'changed' | 'size';

/**
 * Sorts every level in place: capture order (the agent's), by name
 * (natural), changed first (then capture order), or by `sizeOf` descending.
 */
export function sortTree<T>(nodes: TreeNode<T>[], mode: SortMode, sizeOf: (item: T) => number = () => 0): void {
  const size = (n: TreeNode<T>) => (n.item ? sizeOf(n.item) : 0);
  const cmp = (a: TreeNode<T>, b: TreeNode<T>): number => {
    switch (mode) {
      case 'name':
        return naturalCompare(a.name, b.name);
      case 'changed': {
        const ca = a.changed || a.changedBelow ? 0 : 1;
        const cb = b.changed || b.changedBelow ? 0 : 1;
        return ca - cb || a.order - b.order;
      }
      case 'size':
        return size(b) - size(a) || a.order - b.order;
      default:
        return a.order - b.order;
    }
  };
  nodes.sort(cmp);
  for (const n of nodes) sortTree(n.children, mode, sizeOf);
}

/** The rows shown: nodes whose ancestors are all expanded, depth first. */
export function visibleRows<T>(roots: readonly TreeNode<T>[], expanded: ReadonlySet<string>): TreeNode<T>[] {
  const out: TreeNode<T>[] = [];
  const walk = (nodes: readonly TreeNode<T>[]) => {
    for (const n of nodes) {
      out.push(n);
      if (n.children.length > 0 && expanded.has(n.path)) walk(n.children);
    }
  };
  walk(roots);
  return out;
}

/** Rows whose path contains `query` (case-insensitive), with their ancestors for context. */
export function filterRows<T>(roots: readonly TreeNode<T>[], query: string): TreeNode<T>[] {
  const q = query.trim().toLowerCase();
  if (q === '') return visibleRows(roots, new Set());
  const out: TreeNode<T>[] = [];
  const walk = (nodes: readonly TreeNode<T>[]): boolean => {
    let any = false;
    for (const n of nodes) {
      const at = out.length;
      out.push(n);
      const below = walk(n.children);
      if (below || n.path.toLowerCase().includes(q)) any = true;
      else out.length = at;
    }
    return any;
  };
  walk(roots);
  return out;
}

/**
 * Elements of the arrays in a node's subtree (its own included): a
 * module's parameter count when its parameters are the arrays below it.
 * `shapeOf` gives an item's shape, null for items that are not arrays.
 */
export function subtreeElements<T>(node: TreeNode<T>, shapeOf: (item: T) => readonly number[] | null): number {
  let total = 0;
  const walk = (n: TreeNode<T>) => {
    const shape = n.item ? shapeOf(n.item) : null;
    if (shape) total += shape.reduce((a, b) => a * Math.max(0, b), 1);
    for (const c of n.children) walk(c);
  };
  walk(node);
  return total;
}

/** Whether a type name is a torch module (`torch.nn.modules.linear.Linear`, a user's `Net(nn.Module)` reads as its own class). */
export function isModuleType(type: string): boolean {
  return type.startsWith('torch.nn.') || type.endsWith('Module');
}
