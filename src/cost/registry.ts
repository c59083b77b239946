/**
 * Profile registry: the shipped profiles, profiles registered from a notebook, and `host`, read
 * from the JSON file `ptlab calibrate` writes ($PTLAB_HOST_PROFILE or
 * ~/.config/ptlab/host-profile.json) when it exists.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseProfile, ProfileError, type CpuProfile, type CpuProfileInput } from './profile';
import { virtualize } from './virtualize';
import { haswell } from './profiles/haswell';
import { skylakeSp } from './profiles/skylake-sp';
import { icelakeSp } from './profiles/icelake-sp';
import { sapphireRapids } from './profiles/sapphire-rapids';
import { zen3 } from './profiles/zen3';
import { zen4 } from './profiles/zen4';

export const DEFAULT_PROFILE = 'skylake-sp';
export const HOST_PROFILE = 'host';

/** Definitions of the shipped profiles, by name: published numbers for a reference part. */
export const SHIPPED_PROFILES: readonly CpuProfileInput[] = [haswell, skylakeSp, icelakeSp, sapphireRapids, zen3, zen4];

/**
 * Where the measured profiles live: src/cost/profiles/measured/<name>.json, written by
 * `ptlab calibrate --out` on the machines the project runs on and committed as data. Found from
 * the compiled tree (dist/src/cost -> ../../../src/...) or the source tree.
 */
export function measuredProfileDir(): string {
  const candidates = [path.resolve(__dirname, '../../../src/cost/profiles/measured'), path.resolve(__dirname, 'profiles/measured')];
  return candidates.find((d) => fs.existsSync(d)) ?? candidates[0];
}

let measuredDefs: Map<string, { def: unknown; file: string }> | undefined;

/** The measured profiles' definitions by name (each file's `name`; validated when first used). */
function measured(): Map<string, { def: unknown; file: string }> {
  if (measuredDefs) return measuredDefs;
  measuredDefs = new Map();
  const dir = measuredProfileDir();
  let files: string[] = [];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  } catch {
    return measuredDefs;
  }
  for (const f of files) {
    const file = path.join(dir, f);
    let def: unknown;
    try {
      def = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ProfileError(`measured profile ${file} is not valid JSON (${(e as Error).message})`);
    }
    const name = (def as { name?: unknown }).name;
    if (typeof name !== 'string' || name !== f.replace(/\.json$/, ''))
      throw new ProfileError(`measured profile ${file}: name must be "${f.replace(/\.json$/, '')}" (the file name), got ${JSON.stringify(name)}`);
    if (SHIPPED_PROFILES.some((d) => d.name === name) || name === HOST_PROFILE) throw new ProfileError(`measured profile ${file}: name "${name}" is taken by a shipped profile`);
    measuredDefs.set(name, { def, file });
  }
  return measuredDefs;
}

/**
 * A measured profile is data from one day; the event vocabulary grows after it. Events it lacks
 * come from its base (measuredOn.base, virtualize()d when it was a guest), and events that no
 * longer exist are dropped, both listed in its notes.
 */
function withBaseEvents(def: unknown): unknown {
  const d = def as { costs?: Record<string, unknown>; notes?: string[]; measuredOn?: { base?: { profile: string; virtualized: boolean } } };
  const b = d.measuredOn?.base;
  if (!b || !d.costs || !SHIPPED_PROFILES.some((x) => x.name === b.profile)) return def;
  let base = shipped(b.profile)!;
  if (b.virtualized) base = virtualize(base);
  const stated = base.definition.costs as unknown as Record<string, unknown>;
  const costs: Record<string, unknown> = {};
  const added: string[] = [], dropped: string[] = [];
  for (const ev of Object.keys(stated)) {
    if (d.costs[ev] !== undefined) costs[ev] = d.costs[ev];
    else {
      costs[ev] = stated[ev];
      added.push(ev);
    }
  }
  for (const ev of Object.keys(d.costs)) if (stated[ev] === undefined) dropped.push(ev);
  const notes = [...(d.notes ?? [])];
  if (added.length) notes.push(`events added since it was measured, from its base ${b.profile}${b.virtualized ? ' (virtualized)' : ''}: ${added.join(', ')}`);
  if (dropped.length) notes.push(`events since removed from the model, dropped: ${dropped.join(', ')}`);
  return { ...d, costs, notes };
}

/** Names of the measured profiles (src/cost/profiles/measured). */
export function measuredProfiles(): string[] {
  return [...measured().keys()];
}

const built = new Map<string, CpuProfile>();
const registered = new Map<string, CpuProfile>();
let hostCache: { file: string; mtimeMs: number; profile: CpuProfile } | undefined;

export function hostProfilePath(): string {
  return process.env.PTLAB_HOST_PROFILE || path.join(os.homedir(), '.config', 'ptlab', 'host-profile.json');
}

function loadHost(): CpuProfile | undefined {
  const file = hostProfilePath();
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (hostCache && hostCache.file === file && hostCache.mtimeMs === st.mtimeMs) return hostCache.profile;
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ProfileError(`host profile ${file} is not valid JSON (${(e as Error).message}); re-run "ptlab calibrate"`);
  }
  const profile = parseProfile({ ...(json as object), name: HOST_PROFILE }, file);
  hostCache = { file, mtimeMs: st.mtimeMs, profile };
  return profile;
}

function shipped(name: string): CpuProfile | undefined {
  let p = built.get(name);
  if (!p) {
    const def = SHIPPED_PROFILES.find((d) => d.name === name);
    const m = def ? undefined : measured().get(name);
    if (!def && !m) return undefined;
    p = def ? parseProfile(def, 'src/cost/profiles') : parseProfile(withBaseEvents(m!.def), m!.file);
    if (m && !p.definition.measuredOn) throw new ProfileError(`measured profile ${m.file}: measuredOn is required (the machine, kernel and virtualization mode it was measured on)`);
    built.set(name, p);
  }
  return p;
}

/** Names of all profiles available now (host only when its file exists). */
export function listProfiles(): string[] {
  const names = [...SHIPPED_PROFILES.map((d) => d.name), ...measuredProfiles(), ...registered.keys()];
  if (!names.includes(HOST_PROFILE) && fs.existsSync(hostProfilePath())) names.push(HOST_PROFILE);
  return [...new Set(names)];
}

/** A profile by name (default skylake-sp). Throws with the list of names when unknown. */
export function getProfile(name: string = DEFAULT_PROFILE): CpuProfile {
  const r = registered.get(name);
  if (r) return r;
  if (name === HOST_PROFILE) {
    const h = loadHost();
    if (h) return h;
    throw new ProfileError(`no "host" CPU profile: ${hostProfilePath()} does not exist; run "ptlab calibrate" first or pick one of ${listProfiles().join(', ')}`);
  }
  const s = shipped(name);
  if (s) return s;
  throw new ProfileError(`unknown CPU profile "${name}"; known: ${listProfiles().join(', ')} (or registerProfile() your own)`);
}

/** Register (or replace) a profile; accepts a built profile or a definition to validate. Returns the built profile. */
export function registerProfile(p: CpuProfile | CpuProfileInput): CpuProfile {
  // A built profile is re-validated from its definition, so a hand-edited object cannot slip in unsourced numbers.
  const def = 'definition' in p && (p as CpuProfile).definition ? (p as CpuProfile).definition : p;
  const profile = parseProfile(def, 'registerProfile');
  registered.set(profile.name, profile);
  return profile;
}
