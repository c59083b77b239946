/**
 * The `trace` step with a page trace (.ptt, docs/traces.md): where each trace region runs in the
 * model. With `region`, all trace regions are packed, in address order, into that one spec region
 * (so one uffd registration or mprotect covers the whole program). Without it, trace region R runs
 * in the spec region `regions[R] ?? R`; a region the spec has not mapped is mapped by the step
 * with the trace's kind, read-write (the program's own mprotect calls are not in the trace).
 */
import type { Kernel } from '../kernel/kernel';
import type { Mm } from '../kernel/mm';
import { PageTraceFile } from '../workload/pagetrace-reader';
import { PageTraceStream } from '../workload/pagetrace-stream';
import { formatSize, PAGE_SIZE } from './size';
import type { StepOf } from './spec';

/** The step cannot be laid out as written (message names the field and the fix). */
export class TraceStepError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceStepError';
  }
}

export interface PageTraceTarget {
  start: number;
  pages: number;
}

/** Total pages of a trace's regions (the size a packing region needs). */
export function packedPages(t: PageTraceFile): number {
  return t.trailer.regions.reduce((a, r) => a + r.pages, 0);
}

/** Opens the trace and lays its regions out in `mm`; throws TraceStepError or TraceError. */
export function openPageTraceStep(
  k: Kernel,
  mm: Mm,
  s: StepOf<'trace'>,
  file: string,
  where: string,
  regionOf: (name: string) => PageTraceTarget | null,
): PageTraceStream {
  const t = PageTraceFile.open(file, s.file);
  const regs = t.trailer.regions;
  const base = new Float64Array(regs.length);
  if (s.region !== undefined) {
    const r = regionOf(s.region);
    if (!r) throw new TraceStepError(`${where}.region: no region "${s.region}" in process ${mm.name}; map it first with an mmap step`);
    const need = packedPages(t);
    if (need > r.pages) throw new TraceStepError(`${where}.region: "${s.region}" has ${r.pages} pages but the trace's ${regs.length} regions need ${need}; mmap it with size "${formatSize(need * PAGE_SIZE)}"`);
    let off = 0;
    regs.forEach((x, i) => {
      base[i] = r.start + off;
      off += x.pages;
    });
  } else {
    for (const name of Object.keys(s.regions ?? {}))
      if (!regs.some((x) => x.name === name)) throw new TraceStepError(`${where}.regions: the trace has no region "${name}"; its regions: ${regs.map((x) => x.name).join(', ')}`);
    regs.forEach((x, i) => {
      const name = s.regions?.[x.name] ?? x.name;
      let r = regionOf(name);
      if (!r) {
        k.mmap(mm, { region: name, pages: x.pages, kind: x.kind, prot: 'rw', fs: 'plain' });
        r = regionOf(name) as PageTraceTarget;
      }
      if (r.pages < x.pages) throw new TraceStepError(`${where}.regions: spec region "${name}" has ${r.pages} pages but trace region "${x.name}" needs ${x.pages}; mmap it with size "${formatSize(x.pages * PAGE_SIZE)}"`);
      base[i] = r.start;
    });
  }
  const rec = s.records as { from: number; count: number } | undefined;
  return new PageTraceStream(t, base, { cpus: k.cpus, cpu: s.cpu as number | undefined, from: rec?.from, count: rec?.count });
}
