/**
 * `ptlab replay SPEC.json --native [--json] [--script]`: runs the spec on this Linux kernel and
 * prints what user space observed per step (a table, or JSON with --json; --script prints the
 * replayer's op script instead of running it).
 */
import { CliError } from '../cli/errors';
import { ReplayFailed, ReplayRefused, replayNative } from './replay';
import { ScriptError, toOpScript } from './script';
import { loadSpecFile, SpecInputError } from './spec-input';
import type { NativeReplay, NativeRow } from './native-types';

const USAGE = 'usage: ptlab replay SPEC.json --native [--json] [--script] [--no-split]';

function bit(v: boolean | null): string {
  return v === null ? '?' : v ? '1' : '0';
}

export function formatRow(r: NativeRow): string {
  return `    page ${String(r.page).padStart(5)} ${r.entry.padEnd(7)} young=${bit(r.young)} dirty=${bit(r.dirty)} uffdWp=${bit(r.uffdWp)} softDirty=${bit(r.softDirty)} exclusive=${bit(r.exclusive)} special=${bit(r.special)} folioDirty=${bit(r.folioDirty)}`;
}

export function formatReplay(name: string, rep: NativeReplay): string {
  const h = rep.host;
  const out = [
    `native replay of "${name}" on Linux ${h.kernel} (${h.machine})`,
    `  host: root=${h.pfnVisible} softDirty=${h.softDirty} swap=${h.swap} zeroPageOnRead=${h.zeroPageOnRead} PAGEMAP_SCAN=${h.pagemapScan} uffd=${h.uffd ?? `unusable (${h.uffdError})`}`,
  ];
  for (const s of rep.steps) {
    const f = s.faults;
    const uffd = s.uffd.missing + s.uffd.wp + s.uffd.minor ? ` uffd missing=${s.uffd.missing} wp=${s.uffd.wp} minor=${s.uffd.minor}` : '';
    out.push(`  [${s.index}] ${s.process}: ${s.op}${s.region ? ` ${s.region}` : ''}  faults=${f.total} (minor ${f.minor}, major ${f.major})${f.sigsegv ? ` sigsegv=${f.sigsegv}` : ''}${uffd}`);
    for (const n of s.notes) out.push(`    note: ${n}`);
    if (s.scan) out.push(`    scan: [${s.scan.join(', ')}]`);
    for (const r of s.inspect ?? []) out.push(formatRow(r));
  }
  out.push('  (? = not observable from user space here; write is never observable without faulting, see docs/fidelity.md)');
  return out.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const files = argv.filter((a) => !a.startsWith('--'));
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  for (const f of flags)
    if (!['--native', '--json', '--script', '--no-split', '--help'].includes(f)) throw new CliError(`unknown option ${f}\n${USAGE}`);
  if (flags.has('--help')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (files.length !== 1) throw new CliError(USAGE);
  if (!flags.has('--native'))
    throw new CliError(`replay runs a spec on this machine's kernel and needs --native (for the model use: ptlab run ${files[0]})`);
  try {
    const { resolved: spec, plan } = loadSpecFile(files[0]);
    const split = flags.has('--no-split') ? 'never' : 'auto';
    if (flags.has('--script')) {
      process.stdout.write(toOpScript(spec, { seed: spec.seed, repeat: plan.repeat, cpus: spec.machine.cpus, split }).text);
      return 0;
    }
    const rep = replayNative(spec, { split, repeat: plan.repeat });
    process.stdout.write((flags.has('--json') ? JSON.stringify({ name: spec.name, ...rep }, null, 1) : formatReplay(spec.name, rep)) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof ReplayRefused) throw new CliError(`cannot replay here: ${e.message}`, 3);
    if (e instanceof SpecInputError || e instanceof ScriptError) throw new CliError(e.message, 2);
    if (e instanceof ReplayFailed) throw new CliError(e.message, 4);
    throw e;
  }
}
