/**
 * `ptlab report RESULTS_DIR [--out report.html] [--title TEXT] [--baseline VARIANT]`: write one
 * standalone HTML writeup from a results directory (results.json, optional spec.json and
 * profiles.json). Default output: RESULTS_DIR/report.html.
 */
import { join } from 'node:path';
import { CliError } from './errors';

const USAGE = 'usage: ptlab report RESULTS_DIR [--out report.html] [--title TEXT] [--baseline VARIANT]';

interface Args {
  dir: string;
  out?: string;
  title?: string;
  baseline?: string;
}

function parseArgs(argv: string[]): Args | 'help' {
  const a: Partial<Args> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') return 'help';
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    if (flag === '--out' || flag === '-o' || flag === '--title' || flag === '--baseline') {
      const v = inline ?? argv[++i];
      if (v === undefined || (inline === undefined && v.startsWith('--'))) throw new CliError(`report: ${flag} needs a value\n${USAGE}`);
      if (flag === '--title') a.title = v;
      else if (flag === '--baseline') a.baseline = v;
      else a.out = v;
    } else if (arg.startsWith('-')) {
      throw new CliError(`report: unknown option ${arg}\n${USAGE}`);
    } else if (a.dir === undefined) {
      a.dir = arg;
    } else {
      throw new CliError(`report: one RESULTS_DIR only (got "${a.dir}" and "${arg}")\n${USAGE}`);
    }
  }
  if (!a.dir) throw new CliError(`report: RESULTS_DIR is required\n${USAGE}`);
  return a as Args;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (args === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  // loaded here so `ptlab report --help` stays fast
  const { loadResultsDir, ReportInputError } = await import('../report/load');
  const { writeReport } = await import('../report/html');
  let loaded;
  try {
    loaded = loadResultsDir(args.dir);
  } catch (e) {
    if (e instanceof ReportInputError) throw new CliError(`report: ${e.message}`);
    throw e;
  }
  const variants = new Set(loaded.results.runs.map((r) => r.variant));
  if (args.baseline !== undefined && !variants.has(args.baseline)) {
    throw new CliError(`report: --baseline "${args.baseline}" is not a variant of these results (${[...variants].join(', ')})`);
  }
  const path = await writeReport(loaded.results, {
    out: args.out ?? join(args.dir, 'report.html'),
    title: args.title,
    baseline: args.baseline,
    spec: loaded.spec,
    profiles: loaded.profiles,
    variants: loaded.variants,
  });
  process.stdout.write(`wrote ${path}\n`);
  return 0;
}
