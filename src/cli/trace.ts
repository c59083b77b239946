/**
 * `ptlab trace capture [--out FILE] -- CMD ARGS...`: run a program under valgrind's lackey and
 * write its page trace (docs/traces.md). `ptlab trace stats FILE [--json]`: its region table with
 * accesses, pages touched and written, and the re-write fraction per region.
 */
import * as path from 'node:path';
import { command, parseCommand, subcommand, usageLine } from '../args/parser';
import { capture, CaptureError, type CaptureProgress } from '../capture/capture';
import { pageTraceStats } from '../workload/pagetrace-stats';
import { TraceError } from '../workload/trace';
import { CliError } from '../args/cli-error';

const CAPTURE = command('trace capture', '[--out FILE] -- CMD ARGS...', {
  out: { type: 'string', short: 'o', help: 'trace file to write (default: CMD.ptt in the current directory)' },
  'allow-failure': { type: 'boolean', help: 'keep the trace when CMD exits with a non-zero status' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress line' },
});
const STATS = command('trace stats', 'FILE [--json]', {
  json: { type: 'boolean', help: 'print the statistics as JSON (keys: regions[].name, kind, pages, touched, written, ...)' },
});

export async function main(argv: string[]): Promise<number> {
  return subcommand('trace', argv, [
    [CAPTURE, captureMain],
    [STATS, statsMain],
  ]);
}

async function captureMain(argv: string[]): Promise<number> {
  const dd = argv.indexOf('--');
  const own = dd < 0 ? argv : argv.slice(0, dd);
  const command = dd < 0 ? [] : argv.slice(dd + 1);
  const p = parseCommand(CAPTURE, own);
  if (p.positionals.length > 0 || command.length === 0)
    throw new CliError(`trace capture: put the program after "--": ptlab trace capture --out prog.ptt -- ${[...p.positionals, ...command].join(' ') || 'CMD ARGS...'}`);
  const out = p.values.out ?? `${path.basename(command[0])}.ptt`;
  const tty = process.stderr.isTTY === true;
  let lastLine = 0;
  const show = (x: CaptureProgress) => {
    if (p.values.quiet) return;
    const line = `trace: ${fmtCount(x.accesses)} accesses, ${fmtCount(x.records)} page records, ${x.pages.toLocaleString('en-US')} pages, ${(x.bytesWritten / 1e6).toFixed(1)} MB written, ${x.seconds.toFixed(0)} s`;
    if (tty) process.stderr.write(`\r\x1b[K${line}${x.done ? '\n' : ''}`);
    else if (x.done || x.seconds - lastLine >= 10) {
      lastLine = x.seconds;
      process.stderr.write(line + '\n');
    }
  };
  try {
    const r = await capture(command, { out, allowFailure: p.values['allow-failure'], onProgress: show, onWarning: (m) => process.stderr.write(`trace capture: warning: ${m}\n`) });
    process.stderr.write(`trace: wrote ${out}: ${r.trailer.regions.length} regions, ${fmtCount(r.trailer.accesses)} accesses in ${fmtCount(r.trailer.records)} page records (${fmtCount(r.accessesPerSec)} accesses/s)\n`);
    return 0;
  } catch (e) {
    if (tty && !p.values.quiet) process.stderr.write('\n');
    if (e instanceof CaptureError) throw new CliError(e.message, 1);
    throw e;
  }
}

async function statsMain(argv: string[]): Promise<number> {
  const p = parseCommand(STATS, argv);
  if (p.positionals.length !== 1) throw new CliError(`trace stats: give exactly one trace file; ${usageLine(STATS)}`);
  const file = p.positionals[0];
  let st;
  try {
    st = pageTraceStats(path.resolve(file), file);
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message, 1);
    throw e;
  }
  if (p.values.json) {
    process.stdout.write(JSON.stringify(st, null, 1) + '\n');
    return 0;
  }
  const cmd = Array.isArray(st.capture?.command) ? (st.capture!.command as string[]).join(' ') : '(unknown)';
  const lines = [
    `${file}: \`${cmd}\`, ${st.threads} thread(s), ${fmtCount(st.accesses)} accesses in ${fmtCount(st.records)} page records`,
    `pages touched ${st.touched}, written ${st.written} (${pct(st.writtenFraction)}), re-written ${st.rewritten} (${pct(st.rewriteFraction)} of written)`,
    '',
  ];
  const rows = [['region', 'kind', 'pages', 'touched', 'written', 're-written', 'accesses'], ...st.regions.map((r) => [r.name, r.kind, String(r.pages), String(r.touched), String(r.written), pct(r.rewriteFraction), fmtCount(r.accesses)])];
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) lines.push(r.map((c, i) => (i < 2 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
  process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(0)} k`;
  return String(Math.round(n));
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)}%`;
}
