/**
 * Parses the log of valgrind's lackey tool (`--trace-mem=yes`, with `--trace-sched=yes` and
 * `--trace-syscalls=yes` in the same log) byte by byte, as it streams in, and hands each data
 * access to a sink. Instruction fetches (`I` lines) are skipped: the page tables of a data trace
 * are the question, and code pages are read-only file mappings the model treats like any other.
 *
 * Lines it acts on (valgrind 3.19; lackey's format has been stable since 3.x):
 *   ` L 1fff000778,8`  load    ` S …`  store    ` M …`  modify (load and store by one
 *      instruction: a write at page level — x86 checks write permission for the whole access)
 *   `--pid--   SCHED[n]:  acquired lock (…)`   valgrind thread n runs from here on (n >= 1)
 *   `SYSCALL[pid,tid](12) sys_brk ( … ) --> [pre-success] Success(0x…)`   the brk heap's end
 *   `SYSCALL[…](9) sys_mmap …` / `(11) sys_munmap` / `(25) sys_mremap`  the mappings changed
 */

export interface LackeySink {
  /** a data access of `size` bytes at byte `address` by valgrind thread `thread` (0-based) */
  access(thread: number, address: number, size: number, write: boolean): void;
  /** the program's brk moved: the heap now ends at `end` (first call: brk(0), its start) */
  brk(end: number): void;
  /** an mmap, munmap or mremap was made: a good moment to read /proc/pid/maps */
  mappingsChanged(): void;
}

const NL = 10, SPACE = 32, COMMA = 44;
const C_L = 76, C_S = 83, C_M = 77, C_I = 73, C_DASH = 45;
const SCHED = Buffer.from('SCHED[');
const ACQUIRED = Buffer.from('acquired lock');
const SYSCALL = Buffer.from('SYSCALL[');
const SUCCESS = Buffer.from('Success(0x');

/** Streaming parser: feed it chunks as they arrive; it keeps at most one partial line. */
export class LackeyParser {
  thread = 0;
  /** raw data accesses seen */
  accesses = 0;
  /** log bytes seen */
  bytes = 0;
  private carry: Buffer | null = null;
  /** the last non-trace lines (valgrind's own messages), for error reports */
  readonly tail: string[] = [];

  constructor(private readonly sink: LackeySink) {}

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    let buf = chunk;
    let s = 0;
    if (this.carry) {
      const nl = chunk.indexOf(NL);
      if (nl < 0) {
        this.carry = Buffer.concat([this.carry, chunk]);
        if (this.carry.length > 1 << 20) this.carry = this.carry.subarray(this.carry.length - 4096); // a runaway line: keep its end
        return;
      }
      const line = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      this.carry = null;
      this.lines(line, 0, line.length);
      s = nl + 1;
    }
    const last = buf.lastIndexOf(NL);
    if (last < s) {
      this.carry = Buffer.from(buf.subarray(s));
      return;
    }
    this.lines(buf, s, last + 1);
    if (last + 1 < buf.length) this.carry = Buffer.from(buf.subarray(last + 1));
  }

  /** The end of the log: a last line without a newline is parsed too. */
  end(): void {
    if (this.carry && this.carry.length > 0) {
      const line = Buffer.concat([this.carry, Buffer.from('\n')]);
      this.carry = null;
      this.lines(line, 0, line.length);
    }
  }

  /** Parses the complete lines in buf[s, e) (e is just past a newline). */
  private lines(buf: Buffer, s: number, e: number): void {
    const sink = this.sink;
    let p = s;
    while (p < e) {
      const c0 = buf[p];
      const k = buf[p + 1];
      if (c0 === SPACE && (k === C_L || k === C_S || k === C_M) && buf[p + 2] === SPACE) {
        // " X addr,size"
        let q = p + 3;
        let addr = 0;
        for (;;) {
          const c = buf[q];
          if (c >= 48 && c <= 57) addr = addr * 16 + (c - 48);
          else if (c >= 97 && c <= 102) addr = addr * 16 + (c - 87);
          else break;
          q++;
        }
        let size = 0;
        if (buf[q] === COMMA) {
          q++;
          for (;;) {
            const c = buf[q];
            if (c >= 48 && c <= 57) size = size * 10 + (c - 48);
            else break;
            q++;
          }
        }
        if (buf[q] === NL) {
          this.accesses++;
          sink.access(this.thread, addr, size, k !== C_L);
          p = q + 1;
          continue;
        }
        p = this.other(buf, p, e);
      } else if (c0 === C_I) {
        const nl = buf.indexOf(NL, p);
        p = nl < 0 || nl >= e ? e : nl + 1;
      } else p = this.other(buf, p, e);
    }
  }

  /** A line that is not a data access: scheduler, syscall or valgrind message. Returns the next line's start. */
  private other(buf: Buffer, p: number, e: number): number {
    let nl = buf.indexOf(NL, p);
    if (nl < 0 || nl >= e) nl = e - 1;
    const line = buf.subarray(p, nl);
    if (buf[p] === C_DASH) {
      const at = line.indexOf(SCHED);
      if (at >= 0 && line.indexOf(ACQUIRED) >= 0) {
        let n = 0;
        for (let q = at + SCHED.length; line[q] >= 48 && line[q] <= 57; q++) n = n * 10 + (line[q] - 48);
        if (n >= 1) this.thread = n - 1;
        return nl + 1;
      }
    }
    if (line.indexOf(SYSCALL) === 0) {
      const close = line.indexOf(41); // ')' after the syscall number
      const open = line.indexOf(40); // '('
      const nr = Number(line.toString('latin1', open + 1, close));
      if (nr === 12) {
        const at = line.indexOf(SUCCESS);
        if (at >= 0) {
          const end = line.indexOf(41, at);
          this.sink.brk(parseInt(line.toString('latin1', at + SUCCESS.length, end), 16));
        }
      } else if (nr === 9 || nr === 11 || nr === 25) this.sink.mappingsChanged();
      return nl + 1;
    }
    if (line.length > 0 && !(buf[p] === C_DASH && line.indexOf(SCHED) >= 0)) {
      this.tail.push(line.toString('utf8'));
      if (this.tail.length > 20) this.tail.shift();
    }
    return nl + 1;
  }
}
