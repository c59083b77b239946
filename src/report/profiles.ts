/**
 * Profile sources for the report: every sourced number of the CPU profiles used
 * ({cycles|value, source, kind} leaves, src/cost/sourced.ts) as one row, so a reader of the writeup
 * can see where each cycle cost came from. Accepts a profile definition, an array of them, or a
 * {name: definition} map, without depending on the cost layer's types (profiles.json is optional,
 * hand-editable input).
 */
export interface SourceRow {
  profile: string;
  path: string;
  value: number | string;
  kind: string;
  source: string;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function walk(node: unknown, profile: string, path: string[], out: SourceRow[]): void {
  if (Array.isArray(node)) {
    node.forEach((x, i) => walk(x, profile, [...path, String(i)], out));
    return;
  }
  if (!isObject(node)) return;
  if (typeof node.source === 'string' && ('cycles' in node || 'value' in node)) {
    const v = 'cycles' in node ? node.cycles : node.value;
    out.push({ profile, path: path.join('.'), value: typeof v === 'number' ? v : String(v), kind: typeof node.kind === 'string' ? node.kind : '', source: node.source });
    return;
  }
  for (const [k, v] of Object.entries(node)) walk(v, profile, [...path, k], out);
}

export function profileSourceRows(profiles: unknown): SourceRow[] {
  const out: SourceRow[] = [];
  const one = (p: unknown, fallback: string) => {
    const name = isObject(p) && typeof p.name === 'string' ? p.name : fallback;
    // a built CpuProfile carries its sourced `definition`: read that, not the plain copies
    walk(isObject(p) && isObject(p.definition) ? p.definition : p, name, [], out);
  };
  if (Array.isArray(profiles)) profiles.forEach((p, i) => one(p, `profile ${i}`));
  else if (isObject(profiles) && (typeof profiles.name === 'string' || isObject(profiles.costs))) one(profiles, 'profile');
  else if (isObject(profiles) && isObject(profiles.profiles)) for (const [k, v] of Object.entries(profiles.profiles)) one(v, k);
  else if (isObject(profiles)) for (const [k, v] of Object.entries(profiles)) one(v, k);
  return out;
}
