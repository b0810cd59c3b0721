import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import * as ts from 'typescript';

/**
 * The direction of dependencies between the feature folders (docs/chain.md, "Which folder may use
 * which"): the 叫应 chain calls no feature module, and no two feature folders import each other,
 * not even for a type. Read from the sources with the TypeScript scanner, tests excluded.
 */
const SRC = resolve(__dirname, '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** `modules/<name>` for a feature module, else the top folder of src (templates, channels, …). */
function folderOf(file: string): string {
  const parts = relative(SRC, file).split(sep);
  return parts[0] === 'modules' ? `modules/${parts[1]}` : parts[0];
}

interface Edge {
  from: string;
  to: string;
  file: string;
}

function folderEdges(): Edge[] {
  const edges: Edge[] = [];
  for (const file of sources(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName);
      const [from, to] = [folderOf(file), folderOf(target)];
      if (from !== to) edges.push({ from, to, file: `${relative(SRC, file)} -> ${fileName}` });
    }
  }
  return edges;
}

/** Every pair of folders that import each other, directly or round a longer loop. */
function cycles(edges: Edge[], keep: (folder: string) => boolean): string[][] {
  const next = new Map<string, Set<string>>();
  for (const e of edges) {
    if (!keep(e.from) || !keep(e.to)) continue;
    if (!next.has(e.from)) next.set(e.from, new Set());
    next.get(e.from)!.add(e.to);
  }
  const found: string[][] = [];
  const reach = (start: string): Map<string, string[]> => {
    const paths = new Map<string, string[]>([[start, [start]]]);
    const todo = [start];
    while (todo.length) {
      const at = todo.shift()!;
      for (const to of next.get(at) ?? []) {
        if (paths.has(to)) continue;
        paths.set(to, [...paths.get(at)!, to]);
        todo.push(to);
      }
    }
    return paths;
  };
  for (const [from, tos] of next) {
    for (const to of tos) {
      const back = reach(to).get(from);
      if (back) found.push([from, ...back]);
    }
  }
  return found;
}

const isFeature = (f: string) => f.startsWith('modules/') || f === 'templates';

describe('folder dependencies', () => {
  const edges = folderEdges();

  it('the scanner sees the imports (a known edge is found)', () => {
    expect(edges).toContainEqual(
      expect.objectContaining({ from: 'modules/dispatch', to: 'modules/chain' }),
    );
  });

  it('no two feature folders (src/modules/*, src/templates) import each other, directly or round a loop', () => {
    expect(cycles(edges, isFeature)).toEqual([]);
  });

  it('the chain imports no feature module but the audit log', () => {
    const fromChain = edges.filter(
      (e) => e.from === 'modules/chain' && isFeature(e.to) && e.to !== 'modules/audit',
    );
    expect(fromChain.map((e) => e.file)).toEqual([]);
  });

  it('the layers of docs/chain.md hold: nothing below imports anything above', () => {
    const layers = [
      'modules/chain',
      'modules/escalation',
      'modules/warnings',
      'modules/tasks',
      'modules/dispatch',
      'modules/responses',
      'modules/recovery',
    ];
    const upward = edges.filter((e) => {
      const [from, to] = [layers.indexOf(e.from), layers.indexOf(e.to)];
      return from >= 0 && to > from;
    });
    expect(upward.map((e) => e.file)).toEqual([]);
  });

  it('cycles() finds a loop when there is one (the check can fail)', () => {
    const loop: Edge[] = [
      { from: 'modules/a', to: 'modules/b', file: 'a' },
      { from: 'modules/b', to: 'modules/c', file: 'b' },
      { from: 'modules/c', to: 'modules/a', file: 'c' },
    ];
    expect(cycles(loop, isFeature)).toContainEqual([
      'modules/a',
      'modules/b',
      'modules/c',
      'modules/a',
    ]);
  });

  it('no provider looks another one up by token at run time (ModuleRef): dependencies are declared', () => {
    const lookups = sources(join(SRC, 'modules')).filter((file) =>
      /\bModuleRef\b/.test(readFileSync(file, 'utf8')),
    );
    expect(lookups.map((f) => relative(SRC, f))).toEqual([]);
  });
});
