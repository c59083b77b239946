/**
 * Progress for long runs and sweeps.
 *
 * In a notebook: ONE output updated in place (a fixed display_id, later messages sent as
 * `update_display_data`), because tslab has no widget support (tqdm's notebook bar needs
 * ipywidgets) and a saved notebook keeps only the last state of a display — so the last state is a
 * summary line worth keeping ("12/12 runs in 3.4 s").
 * In a terminal: one line on stderr rewritten with "\r" (stdout stays clean for `--json`); when
 * stderr is not a TTY (CI logs, pipes): plain lines at every 10%, then the summary.
 */
import { displayBundle, kernelAvailable, sendBundle, type MimeBundle } from './display';
import { escapeHtml } from './html-escape';

export interface ProgressOptions {
  /** total amount of work (can be set later by update(done, total)) */
  total?: number;
  label?: string;
  /** what is counted, e.g. "runs" or "accesses" (default "steps") */
  unit?: string;
  /** at most one redraw per this many ms in a notebook or TTY (default 200; 0 redraws every time) */
  minIntervalMs?: number;
  /** where terminal output goes (default process.stderr) */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** force a mode instead of detecting one */
  mode?: 'notebook' | 'tty' | 'lines';
  /** clock, for tests */
  now?: () => number;
}

let progressCount = 0;

export class Progress {
  readonly label: string;
  readonly unit: string;
  private total: number;
  private doneCount = 0;
  private readonly started: number;
  private lastDraw = -Infinity;
  private lastDecile = -1;
  private readonly mode: 'notebook' | 'tty' | 'lines';
  private readonly displayId: string;
  private shown = false;
  private finished = false;
  private finalLine?: string;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly now: () => number;
  private readonly minIntervalMs: number;

  constructor(opts: ProgressOptions = {}) {
    this.label = opts.label ?? 'progress';
    this.unit = opts.unit ?? 'steps';
    this.total = opts.total ?? 0;
    this.stream = opts.stream ?? process.stderr;
    this.now = opts.now ?? Date.now;
    this.minIntervalMs = opts.minIntervalMs ?? 200;
    this.mode = opts.mode ?? (kernelAvailable() ? 'notebook' : this.stream.isTTY ? 'tty' : 'lines');
    this.started = this.now();
    progressCount += 1;
    this.displayId = `ptlab-progress-${process.pid}-${progressCount}`;
  }

  /**
   * A progress callback for both shapes ptlab uses: `(done, total)` (SimulateOptions.onProgress)
   * and `({done, total})` (RunOptions.onProgress of the runner).
   */
  get callback(): (done: number | { done: number; total: number }, total?: number) => void {
    return (done, total) => {
      if (typeof done === 'object') this.update(done.done, done.total);
      else this.update(done, total);
    };
  }

  /** Set the amount done (and optionally the total). */
  update(done: number, total?: number): this {
    if (this.finished) return this;
    if (total !== undefined) this.total = total;
    this.doneCount = done;
    this.draw(false);
    return this;
  }

  /** Add `n` to the amount done. */
  tick(n = 1): this {
    return this.update(this.doneCount + n);
  }

  private elapsed(): string {
    return `${((this.now() - this.started) / 1000).toFixed(1)} s`;
  }

  /** The current status line, e.g. "sweep [#####.....] 50% 6/12 runs 1.2 s". */
  line(): string {
    const t = this.total;
    if (!(t > 0)) return `${this.label}: ${this.doneCount} ${this.unit} ${this.elapsed()}`;
    const f = Math.min(1, Math.max(0, this.doneCount / t));
    const w = 20;
    const filled = Math.round(f * w);
    return `${this.label} [${'#'.repeat(filled)}${'.'.repeat(w - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${this.doneCount}/${t} ${this.unit} ${this.elapsed()}`;
  }

  private bundle(text: string, final: boolean): MimeBundle {
    const t = this.total;
    const bar = !final && t > 0 ? `<progress value="${this.doneCount}" max="${t}" style="width:20em"></progress> ` : '';
    return { 'text/html': `<div class="ptlab-progress">${bar}<code>${escapeHtml(text)}</code></div>`, 'text/plain': text };
  }

  private draw(final: boolean, text = this.line()): void {
    const now = this.now();
    if (this.mode === 'lines') {
      if (final) {
        this.stream.write(text + '\n');
        return;
      }
      const decile = this.total > 0 ? Math.floor((10 * Math.min(this.doneCount, this.total)) / this.total) : -1;
      if (decile > this.lastDecile) {
        this.lastDecile = decile;
        this.stream.write(text + '\n');
      }
      return;
    }
    if (!final && now - this.lastDraw < this.minIntervalMs) return;
    this.lastDraw = now;
    if (this.mode === 'tty') {
      this.stream.write(`\r${text}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    if (!this.shown) {
      displayBundle(this.bundle(text, final), { displayId: this.displayId });
      this.shown = true;
    } else {
      sendBundle(this.bundle(text, final), { displayId: this.displayId, update: true });
    }
  }

  /**
   * Finish: replace the bar with a summary line ("label: 12/12 runs in 3.4 s; extra"), readable
   * afterwards as `.summary`. Returns nothing, so a notebook cell ending in `p.done()` does not
   * print the line a second time. Further updates are ignored.
   */
  done(extra?: string): void {
    if (this.finished) return;
    this.finalLine = this.summaryLine(extra);
    this.draw(true, this.finalLine);
    this.finished = true;
  }

  /** The summary line once done() was called, else the current status line. */
  get summary(): string {
    return this.finalLine ?? this.line();
  }

  private summaryLine(extra?: string): string {
    const count = this.total > 0 ? `${this.doneCount}/${this.total}` : `${this.doneCount}`;
    return `${this.label}: ${count} ${this.unit} in ${this.elapsed()}${extra ? `; ${extra}` : ''}`;
  }
}

/** Start a progress display: `const p = progress({total: 12, label: 'sweep', unit: 'runs'})`. */
export function progress(opts: ProgressOptions = {}): Progress {
  return new Progress(opts);
}
