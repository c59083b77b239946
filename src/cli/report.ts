/**
 * `ptlab report RESULTS_DIR [--out report.html] [--title TEXT] [--baseline VARIANT]`: write one
 * standalone HTML writeup from a results directory (results.json, optional spec.json and
 * profiles.json). Default output: RESULTS_DIR/report.html.
 */
import { join } from 'node:path';
import { command, parseCommand, usageLine } from '../args/parser';
import { CliError } from '../args/cli-error';

const REPORT = command('report', 'RESULTS_DIR [--out report.html] [--title TEXT] [--baseline VARIANT]', {
  out: { type: 'string', short: 'o', help: 'the HTML file to write (default RESULTS_DIR/report.html)' },
  title: { type: 'string', help: 'the report title (default: the spec name)' },
  baseline: { type: 'string', help: 'the variant the others are compared with' },
});

export async function main(argv: string[]): Promise<number> {
  const { values: args, positionals } = parseCommand(REPORT, argv);
  if (positionals.length === 0) throw new CliError(`report: RESULTS_DIR is required; ${usageLine(REPORT)}`);
  if (positionals.length > 1) throw new CliError(`report: one RESULTS_DIR only (got ${positionals.map((d) => `"${d}"`).join(' and ')}); ${usageLine(REPORT)}`);
  const dir = positionals[0];
  // loaded here so `ptlab report --help` stays fast
  const { loadResultsDir, ReportInputError } = await import('../report/load');
  const { writeReport } = await import('../report/html');
  let loaded;
  try {
    loaded = loadResultsDir(dir);
  } catch (e) {
    if (e instanceof ReportInputError) throw new CliError(`report: ${e.message}`);
    throw e;
  }
  const variants = new Set(loaded.results.runs.map((r) => r.variant));
  if (args.baseline !== undefined && !variants.has(args.baseline)) {
    throw new CliError(`report: --baseline "${args.baseline}" is not a variant of these results (${[...variants].join(', ')})`);
  }
  const path = await writeReport(loaded.results, {
    out: args.out ?? join(dir, 'report.html'),
    title: args.title,
    baseline: args.baseline,
    spec: loaded.spec,
    profiles: loaded.profiles,
    variants: loaded.variants,
  });
  process.stdout.write(`wrote ${path}\n`);
  return 0;
}
