/**
 * Translates a (resolved) experiment spec into the native replayer's line-based op script
 * (grammar at the top of native/replay/replay.c). Touch steps are expanded here with the
 * workload layer's own seeded generator, so the native run touches exactly the pages, in the
 * order and with the read/write mix, that the simulator touches.
 */
import { DEFAULT_KHUGEPAGED } from '../kernel/khugepaged';
import type { Step } from '../lab/spec';
import { parseSizeOrError, PAGE_SIZE } from '../lab/size';
import { makeAccessStream, streamSeed, PageSet } from '../workload';
import type { PageSelection } from '../workload';

export interface ScriptOptions {
  /** run seed (the simulator's run seed) */
  seed: number;
  /** the simulator's repeat number for the run being compared */
  repeat: number;
  /** number of CPUs of the spec's machine (the stream generator checks CPU numbers) */
  cpus: number;
  /** one VMA per page so smaps shows young/dirty per page: 'auto' = anon-private regions up to maxSplitPages */
  split: 'auto' | 'always' | 'never';
  maxSplitPages: number;
}

export const DEFAULT_SCRIPT_OPTIONS: ScriptOptions = { seed: 1, repeat: 0, cpus: 1, split: 'auto', maxSplitPages: 4096 };

export interface RegionInfo {
  pages: number;
  kind: string;
  split: boolean;
  /** file kinds: 'plain' (replayed on tmpfs) or 'mkwrite' (a disk filesystem); '-' otherwise */
  fs: string;
  /** mapped with MADV_HUGEPAGE */
  thp: boolean;
}

export interface OpScript {
  text: string;
  regions: Record<string, RegionInfo>;
  /** per spec step: notes on how the native step differs from the op (e.g. hints ignored) */
  notes: string[][];
}

/** Ops a user-space program cannot drive on demand: replaying them natively would be a wrong answer. */
export const NOT_REPLAYABLE: Record<string, string> = {
  reclaim: 'global reclaim cannot be triggered for chosen pages from user space (use madvise pageout for a region)',
  migrate: 'page migration needs a second NUMA node (move_pages to the same node does nothing)',
  trace: 'trace replay is not implemented natively',
};

export class ScriptError extends Error {
  constructor(
    message: string,
    readonly step: number,
  ) {
    super(message);
    this.name = 'ScriptError';
  }
}

function pagesArg(sel: PageSelection | undefined, pages: number, where: string): string {
  if (sel === undefined) return 'all';
  let set: PageSet;
  try {
    set = new PageSet(sel, pages, where);
  } catch (e) {
    throw new ScriptError((e as Error).message, -1);
  }
  const idx: number[] = [];
  for (let i = 0; i < set.size; i++) if (!idx.includes(set.at(i))) idx.push(set.at(i));
  idx.sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1] === idx[j] + 1) j++;
    out.push(j > i ? `${idx[i]}-${idx[j]}` : `${idx[i]}`);
    i = j + 1;
  }
  if (!out.length) throw new ScriptError(`${where}: no page selected`, -1);
  return out.join(',');
}

/** Expands a touch step into tokens r<p>, w<p>, runs of consecutive same-kind pages as r<a>-<b>. */
function touchTokens(step: Extract<Step, { op: 'touch' }>, pages: number, seed: number, cpus: number): string[] {
  const stream = makeAccessStream(step as Parameters<typeof makeAccessStream>[0], { pages, seed, cpus });
  const page = new Float64Array(4096);
  const write = new Uint8Array(4096);
  const cpu = new Uint16Array(4096);
  const tokens: string[] = [];
  let runKind = '';
  let runStart = -1;
  let runEnd = -1;
  const flush = () => {
    if (runStart >= 0) tokens.push(runEnd > runStart ? `${runKind}${runStart}-${runEnd}` : `${runKind}${runStart}`);
  };
  try {
    for (;;) {
      const n = stream.fill(page, write, cpu);
      if (n === 0) break;
      for (let i = 0; i < n; i++) {
        const k = write[i] ? 'w' : 'r';
        const p = page[i];
        if (k === runKind && p === runEnd + 1) runEnd = p;
        else {
          flush();
          runKind = k;
          runStart = runEnd = p;
        }
      }
    }
  } finally {
    stream.close();
  }
  flush();
  return tokens;
}

/** What the translation reads of a spec: its name and (variable-free) steps. */
export interface ScriptableSpec {
  name: string;
  steps: readonly Step[];
  /** mTHP sizes and khugepaged limits to set on the host for the replay (root) */
  machine?: { mthp?: Partial<Record<string, string>>; khugepaged?: { maxPtesNone?: number; maxPtesSwap?: number; maxPtesShared?: number } };
}

export function toOpScript(spec: ScriptableSpec, o: Partial<ScriptOptions> = {}): OpScript {
  const opts = { ...DEFAULT_SCRIPT_OPTIONS, ...o };
  const regions: Record<string, RegionInfo> = {};
  const lines: string[] = [`# ptlab replay of "${spec.name}"`];
  for (const [size, mode] of Object.entries(spec.machine?.mthp ?? {})) lines.push(`@mthp ${size} ${mode}`);
  if (spec.steps.some((s) => s.op === 'khugepaged')) {
    // the host's khugepaged runs with the model's limits (khugepaged_init() defaults unless the spec sets them)
    const kh = { ...DEFAULT_KHUGEPAGED, ...(spec.machine?.khugepaged ?? {}) };
    lines.push(`@khugepaged max_ptes_none ${kh.maxPtesNone}`, `@khugepaged max_ptes_swap ${kh.maxPtesSwap}`, `@khugepaged max_ptes_shared ${kh.maxPtesShared}`);
  }
  const notes: string[][] = spec.steps.map(() => []);
  const need = (i: number, name: string): RegionInfo => {
    const r = regions[name];
    if (!r) throw new ScriptError(`steps[${i}]: region "${name}" is not mapped by an earlier mmap step`, i);
    return r;
  };
  spec.steps.forEach((step, i) => {
    const proc = step.process ?? 'main';
    const head = `${i} ${proc}`;
    const why = NOT_REPLAYABLE[step.op];
    if (why) throw new ScriptError(`steps[${i}] (${step.op}) cannot be replayed natively: ${why}`, i);
    switch (step.op) {
      case 'mmap': {
        const bytes = parseSizeOrError(step.size as string | number);
        if (typeof bytes === 'string') throw new ScriptError(`steps[${i}].size: ${bytes}`, i);
        const pages = bytes / PAGE_SIZE;
        const kind = (step.kind as string) ?? 'anon-private';
        // auto: anon-private only. Page-cache kinds (files, shmem) need their VMA whole, because
        // fault-around maps cached neighbours only within the VMA (do_fault_around), and their
        // dirty bit is hidden behind PG_dirty anyway.
        // A THP region stays one VMA: splitting it per page (MADV_NOHUGEPAGE on every other page)
        // would forbid huge pages; its young/dirty bits are then compared as smaps totals.
        const thp = (step.thp as string | undefined) ?? '-';
        const split = thp !== 'hugepage' && (opts.split === 'always' || (opts.split === 'auto' && kind === 'anon-private' && pages <= opts.maxSplitPages));
        const fs = kind.startsWith('file') ? ((step.fs as string) ?? 'mkwrite') : '-';
        regions[step.region] = { pages, kind, split, fs, thp: thp === 'hugepage' };
        lines.push(`${head} mmap ${step.region} ${pages} ${kind} ${(step.prot as string) ?? 'rw'} ${fs} ${split ? 1 : 0} ${thp}`);
        break;
      }
      case 'munmap':
        need(i, step.region);
        lines.push(`${head} munmap ${step.region}`);
        break;
      case 'touch': {
        const r = need(i, step.region);
        const tokens = touchTokens(step, r.pages, streamSeed(opts.seed, opts.repeat, i), opts.cpus);
        if (Number(step.threads ?? 1) > 1) notes[i].push('threads replayed in their interleaved order by one thread');
        lines.push(`${head} touch ${step.region} ${tokens.join(' ')}`);
        break;
      }
      case 'mprotect': {
        const r = need(i, step.region);
        lines.push(`${head} mprotect ${step.region} ${step.prot as string} ${pagesArg(step.pages as PageSelection, r.pages, `steps[${i}].pages`)}`);
        break;
      }
      case 'madvise': {
        const r = need(i, step.region);
        lines.push(`${head} madvise ${step.region} ${step.advice as string} ${pagesArg(step.pages as PageSelection, r.pages, `steps[${i}].pages`)}`);
        break;
      }
      case 'fork':
        if (proc !== 'main') throw new ScriptError(`steps[${i}]: only the main process can fork in a native replay`, i);
        lines.push(`${head} fork ${step.child}`);
        break;
      case 'uffd-register': {
        const r = need(i, step.region);
        // tmpfs is shmem to userfaultfd (vma_can_userfault), the model's 'plain' filesystem is not
        if (r.fs === 'plain')
          throw new ScriptError(`steps[${i}] (uffd-register) cannot be replayed natively: fs "plain" regions are replayed on tmpfs, which userfaultfd treats as shmem, while the model's "plain" filesystem is not shmem; use fs "mkwrite" or kind "anon-shared"`, i);
        const features = step.features?.length ? step.features.join(',') : '-';
        lines.push(`${head} uffd-register ${step.region} ${step.modes.join(',')} ${features} copy`);
        break;
      }
      case 'uffd-writeprotect': {
        const r = need(i, step.region);
        if (step.hints?.length) notes[i].push(`hints ${step.hints.join(',')} ignored: upstream Linux has no uffd access hints (the seed RFC was never merged)`);
        lines.push(`${head} uffd-writeprotect ${step.region} ${step.wp ? 1 : 0} ${pagesArg(step.pages as PageSelection, r.pages, `steps[${i}].pages`)}`);
        break;
      }
      case 'uffd-copy': {
        const r = need(i, step.region);
        lines.push(`${head} uffd-copy ${step.region} ${step.wp ? 1 : 0} ${pagesArg(step.pages as PageSelection, r.pages, `steps[${i}].pages`)}`);
        break;
      }
      case 'uffd-zeropage': {
        const r = need(i, step.region);
        if (step.wp) throw new ScriptError(`steps[${i}].wp: UFFDIO_ZEROPAGE has no write-protect mode in Linux; use uffd-copy with wp, or drop wp`, i);
        lines.push(`${head} uffd-zeropage ${step.region} ${pagesArg(step.pages as PageSelection, r.pages, `steps[${i}].pages`)}`);
        break;
      }
      case 'clear-refs':
        lines.push(`${head} clear-refs ${step.mode as string}`);
        break;
      case 'khugepaged':
        lines.push(`${head} khugepaged`);
        break;
      case 'writeback':
        if (step.region) need(i, step.region);
        lines.push(`${head} writeback ${step.region ?? '-'}`);
        break;
      case 'pagemap-scan': {
        const r = need(i, step.region);
        lines.push(
          `${head} pagemap-scan ${step.region} ${step.mode as string} ${step.clear ? 1 : 0} ${pagesArg(step.pages as PageSelection, r.pages, `steps[${i}].pages`)}`,
        );
        break;
      }
      case 'inspect': {
        const r = need(i, step.region);
        lines.push(`${head} inspect ${step.region} ${pagesArg(step.pages as PageSelection, r.pages, `steps[${i}].pages`)}`);
        break;
      }
      default:
        throw new ScriptError(`steps[${i}]: op "${(step as { op: string }).op}" has no native replay`, i);
    }
  });
  // a forked child ends with the script; an explicit exit is not part of the spec
  return { text: lines.join('\n') + '\n', regions, notes };
}
