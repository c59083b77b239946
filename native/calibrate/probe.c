/*
 * ptlab calibrate probe: measures page-table costs of this Linux x86-64 host with rdtsc and prints
 * one JSON object on stdout. Built and run by src/cost/calibrate.ts; written for ptlab (MIT), no
 * kernel code copied.
 *
 *   probe [--fast] [--reps N] [--check] [--check-pages FILE] [--measure] [--spin-others] [--regimes MiB,MiB...]
 *
 * --regimes measures only the A, A+D and D updates of a dependent chase and an independent stream
 * over each listed footprint (the model's regime rule is checked against it).
 *
 * --check runs the composite check scenarios only; with --measure it runs every measurement
 * first and the check scenarios right after, in one process, so that both see the host in the
 * same state (some VM hosts switch between a fast and a slow regime every few minutes).
 * --spin-others pins the probe to its first allowed CPU and keeps every other one busy with a spinning
 * child process (another mm, so no shootdowns): on a VM guest the price of a local TLB flush can
 * depend on whether the other vCPUs are running (measured: 8 vs 30 us per 1-page mprotect on a
 * 2-vCPU guest), and this holds that state fixed for the whole run.
 *
 * Every measurement is repeated; each sample is cycles per unit (page, call or fault) in TSC
 * cycles. A measurement that cannot run prints {"name":..,"error":".."} instead of samples.
 * Regions use MADV_NOHUGEPAGE so they are mapped with 4 KiB PTEs, except for the THP
 * measurements of thp.c (included below), which check that they got the huge pages they measure.
 *
 * PTE states are prepared with kernel rules (see /work/shared/notes/kernel-facts.md):
 * - first write to fresh anon memory: do_anonymous_page maps it young+dirty+RW (A=1,D=1);
 * - MADV_FREE on exclusive anon pages clears A and D and keeps RW (madvise_free_pte_range);
 * - a read after MADV_FREE lets the walker set A only (A=1,D=0);
 * - fork wrprotects the parent's private anon PTEs and clears PageAnonExclusive; after the child
 *   exits, a write takes do_wp_page -> wp_can_reuse_anon_folio -> wp_page_reuse; while the child
 *   lives, it takes wp_page_copy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* rdtsc brackets, the TSC rate, thread CPU time and the --spin-others spinners */
#include "../common/timing.h"

#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef MADV_FREE
#define MADV_FREE 8
#endif

#define PAGE 4096UL
#define MAX_SAMPLES 4096
/* per-access samples: pages x reps */
static double *g_buf;
#define CHUNK 16
#define BUF_SAMPLES (1u << 20)

static int g_fast = 0;
static int g_reps = 7;
static int g_first = 1;
/* resident pages of the probe, printed with the next measurement when >= 0 (fork cost depends on it) */
static long g_rss_pages = -1;
static volatile uint64_t g_sink;

static double g_tsc_ghz;

/* Passes (many faults or accesses) are timed with this thread's CPU time
 * (CLOCK_THREAD_CPUTIME_ID, kernel time included) converted to TSC cycles: time while preempted by
 * other processes of a shared host does not count, while the real tail of slow faults does (a
 * per-fault median would hide it, and totals need the mean). One sample = one pass / its count. */
static double cpu_cycles(void) { return ptl_thread_ns() * g_tsc_ghz; }

/* ---------- JSON output ---------- */

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
    else putchar(*s);
  }
  putchar('"');
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile(const double *sorted, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t i = (size_t)pos;
  double f = pos - (double)i;
  return i + 1 < n ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[n - 1];
}

/* Opens the next object of "results" with its name (a comma before all but the first). */
static void begin_result(const char *name) {
  printf("%s\n    {\"name\":", g_first ? "" : ",");
  g_first = 0;
  json_str(name);
}

/* Samples are summarised here (they can be 100k per measurement): quantiles are robust to the
 * preemptions and interrupts of a shared host, which hit a few samples hard. */
static void emit_samples(const char *name, const char *unit, double *s, size_t n, const char *what) {
  begin_result(name);
  printf(",\"unit\":");
  json_str(unit);
  printf(",\"what\":");
  json_str(what);
  double sum = 0;
  for (size_t i = 0; i < n; i++) sum += s[i];
  qsort(s, n, sizeof *s, cmp_double);
  if (g_rss_pages >= 0) printf(",\"rssPages\":%ld", g_rss_pages);
  g_rss_pages = -1;
  printf(",\"n\":%zu,\"min\":%.1f,\"p10\":%.1f,\"p25\":%.1f,\"median\":%.1f,\"p75\":%.1f,\"p90\":%.1f,\"mean\":%.1f}", n, s[0], quantile(s, n, 0.1),
         quantile(s, n, 0.25), quantile(s, n, 0.5), quantile(s, n, 0.75), quantile(s, n, 0.9), sum / (double)n);
  fflush(stdout);
}

/* A measurement that could not run: its error instead of samples. */
static void emit_verror(const char *name, const char *what, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
static void emit_verror(const char *name, const char *what, const char *fmt, va_list ap) {
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  begin_result(name);
  printf(",\"what\":");
  json_str(what);
  printf(",\"error\":");
  json_str(buf);
  printf("}");
  fflush(stdout);
}

static void emit_error(const char *name, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void emit_error(const char *name, const char *what, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit_verror(name, what, fmt, ap);
  va_end(ap);
}

/* Calls that alternate two directions (RO/RW, protect/unprotect) are reported per direction:
 * the directions can differ several-fold, and a median over both would pick one of two modes. */
static void emit_alternating(const char *name, const char *unit, const double *s, int n, const char *what_even, const char *what_odd) {
  double e[MAX_SAMPLES], o[MAX_SAMPLES];
  int ne = 0, no = 0;
  for (int i = 0; i < n; i++) {
    if (i & 1) o[no++] = s[i];
    else e[ne++] = s[i];
  }
  char nm[96];
  snprintf(nm, sizeof nm, "%s_a", name);
  emit_samples(nm, unit, e, ne, what_even);
  snprintf(nm, sizeof nm, "%s_b", name);
  emit_samples(nm, unit, o, no, what_odd);
}

/* ---------- memory helpers ---------- */

static char *map_region(size_t pages) {
  char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  /* 4 KiB PTEs only: THP/mTHP would replace the PTEs we want to measure */
  madvise(p, pages * PAGE, MADV_NOHUGEPAGE);
  return p;
}

static void write_pages(char *p, size_t pages, size_t off) {
  for (size_t i = 0; i < pages; i++) p[i * PAGE + off] = 1;
}

static uint64_t read_pages(const char *p, size_t pages, size_t off) {
  uint64_t s = 0;
  for (size_t i = 0; i < pages; i++) s += (unsigned char)p[i * PAGE + off];
  return s;
}

/* `pages` written pages (A=1, D=1) for measurement `name`, or NULL after printing its error. */
static char *map_written(const char *name, const char *what, size_t pages) {
  char *p = map_region(pages);
  if (!p) {
    emit_error(name, what, "mmap failed: %s", strerror(errno));
    return NULL;
  }
  write_pages(p, pages, 0);
  return p;
}

static char *g_evict;
static size_t g_evict_bytes;

/* Evict the region's translations from the TLBs (and its lines from the caches) by touching a
 * buffer larger than the STLB reach and the last-level cache. */
static void evict(void) {
  uint64_t s = 0;
  for (size_t i = 0; i < g_evict_bytes; i += 64) s += (unsigned char)g_evict[i];
  g_sink += s;
}

/* ---------- TLB-cold accesses: walks and hardware A/D updates ---------- */

enum prep { PREP_AD, PREP_FREE, PREP_FREE_THEN_READ, PREP_HUGE };

/* A 2 MiB-aligned region backed by transparent huge pages: the same accesses miss the caches
 * like a 4 KiB region but take one TLB miss per 512 pages (the walk baseline). */
static char *map_huge(size_t pages, char **raw, size_t *rawlen) {
  size_t len = pages * PAGE + (2UL << 20);
  char *r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r == MAP_FAILED) return NULL;
  char *p = (char *)(((uintptr_t)r + (2UL << 20) - 1) & ~((2UL << 20) - 1));
  madvise(p, pages * PAGE, MADV_HUGEPAGE);
  *raw = r;
  *rawlen = len;
  return p;
}

/* kB of AnonHugePages mapped by this process */
static long anon_huge_kb(void) {
  FILE *f = fopen("/proc/self/smaps_rollup", "r");
  char line[256];
  long kb = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
  fclose(f);
  return kb;
}

/* One repetition: prepare the PTE state of every page, evict, then time one access per page as a
 * pass (one sample = pass CPU time / pages). */
static int cold_pass(size_t pages, enum prep prep, int write, size_t off, double *out, int *reclaimed) {
  char *raw = NULL;
  size_t rawlen = 0;
  char *p = prep == PREP_HUGE ? map_huge(pages, &raw, &rawlen) : map_region(pages);
  if (!p) return -1;
  write_pages(p, pages, 0); /* A=1, D=1, RW=1 */
  if (prep == PREP_HUGE && anon_huge_kb() < (long)(pages * PAGE / 2048)) {
    munmap(raw, rawlen);
    return -2;
  }
  if (prep != PREP_AD) madvise(p, pages * PAGE, MADV_FREE); /* A=0, D=0, RW=1 */
  if (prep == PREP_FREE_THEN_READ) g_sink += read_pages(p, pages, off); /* A=1, D=0 */
  evict();
  double t0 = cpu_cycles();
  if (write) {
    for (size_t i = 0; i < pages; i++) p[i * PAGE + off] = 2;
  } else {
    uint64_t sum = 0;
    for (size_t i = 0; i < pages; i++) sum += (unsigned char)p[i * PAGE + off];
    g_sink += sum;
  }
  *out = (cpu_cycles() - t0) / (double)pages;
  /* MADV_FREE pages may be reclaimed under memory pressure; then the pass measured faults */
  if (prep != PREP_AD && prep != PREP_HUGE && p[0] == 0) *reclaimed = 1;
  if (raw) munmap(raw, rawlen);
  else munmap(p, pages * PAGE);
  return 0;
}

static void measure_cold(const char *name, const char *what, size_t pages, enum prep prep, int write) {
  int reclaimed = 0;
  size_t n = 0;
  for (int r = 0; r < g_reps && n + pages <= BUF_SAMPLES; r++) {
    int rc = cold_pass(pages, prep, write, 128 + 64 * (r % 8), g_buf + n, &reclaimed);
    if (rc == -2) {
      emit_error(name, what, "no transparent huge pages (THP disabled or memory fragmented)");
      return;
    }
    if (rc) {
      emit_error(name, what, "mmap failed: %s", strerror(errno));
      return;
    }
    n++;
  }
  if (reclaimed) emit_error(name, what, "MADV_FREE pages were reclaimed during the pass (memory pressure); re-run on an idle host");
  else emit_samples(name, "access", g_buf, n, what);
}

/* TLB-hot: a few pages (fewer than the L1 DTLB entries) accessed again and again. With
 * dset=1 the pages are made A=1,D=0 first and are then written while their TLB entries are
 * cached with D=0: the write re-walks (AMD) or takes a microcode assist (Intel) to set D. */
static void measure_hot(const char *name, const char *what, int write, int dset) {
  const size_t pages = 32;
  int trials = g_fast ? 100 : 500;
  size_t n = 0;
  char *p = map_written(name, what, pages);
  if (!p) return;
  for (int t = 0; t < trials; t++) {
    if (dset) madvise(p, pages * PAGE, MADV_FREE);
    g_sink += read_pages(p, pages, 0); /* fill the TLB; with dset, A=1,D=0 */
    for (size_t c = 0; c < pages / CHUNK; c++) {
      char *base = p + c * CHUNK * PAGE + 64;
      uint64_t t0 = ptl_tsc_begin();
      if (write) {
        for (size_t i = 0; i < CHUNK; i++) base[i * PAGE] = (char)t;
      } else {
        uint64_t sum = 0;
        for (size_t i = 0; i < CHUNK; i++) sum += (unsigned char)base[i * PAGE];
        g_sink += sum;
      }
      uint64_t t1 = ptl_tsc_end();
      g_buf[n++] = (double)(t1 - t0) / CHUNK;
    }
  }
  munmap(p, pages * PAGE);
  emit_samples(name, "access", g_buf, n, what);
}

/* Writes to 512 pages whose translations are cached (the pages fit in the STLB): with dset=1 the
 * PTEs are A=1,D=0 (MADV_FREE, then a read pass fills the TLB), so each write sets D through a
 * cached entry: a re-walk (AMD) or a microcode assist (Intel). Timed per pass with CPU time. */
static void measure_cached_write(const char *name, const char *what, int dset) {
  const size_t pages = 512;
  int trials = g_fast ? 10 : 40;
  size_t n = 0;
  char *p = map_written(name, what, pages);
  if (!p) return;
  for (int t = 0; t < trials; t++) {
    if (dset) madvise(p, pages * PAGE, MADV_FREE);
    g_sink += read_pages(p, pages, 0);
    double t0 = cpu_cycles();
    for (size_t i = 0; i < pages; i++) p[i * PAGE + 64] = (char)t;
    g_buf[n++] = (cpu_cycles() - t0) / (double)pages;
  }
  munmap(p, pages * PAGE);
  emit_samples(name, "access", g_buf, n, what);
}

/* Write "1" to /proc/self/clear_refs: clear_refs_pte_range test-and-clears A of every PTE of the
 * process, then the whole mm is flushed. */
static int clear_refs_write(void) {
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) return -1;
  int rc = write(fd, "1", 1) == 1 ? 0 : -1;
  close(fd);
  return rc;
}

/* ---------- regimes: A/D updates in a dependent chase and in an independent stream ---------- */

/* A region whose pages form one random cycle: each page holds, at REG_OFF, the address of the
 * next page's REG_OFF. A dependent pass follows the pointers (each load waits for the previous
 * one: a pointer chase); an independent pass reads or writes every page in address order (a page-
 * stride stream whose TLB misses can overlap). Both touch one line per page. */
#define REG_OFF 2048
struct chase {
  char *p;
  size_t pages;
  char *start;
};

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void) {
  g_rng ^= g_rng << 13;
  g_rng ^= g_rng >> 7;
  g_rng ^= g_rng << 17;
  return g_rng;
}

/* Link `n` slots `stride` bytes apart, starting at `base`, into one random cycle: each slot holds
 * the address of the next. Returns the first slot (NULL when out of memory). */
/* perm = a random permutation of 0..n-1 (Fisher-Yates over rng()) */
static void random_perm(uint32_t *perm, size_t n) {
  for (size_t i = 0; i < n; i++) perm[i] = (uint32_t)i;
  for (size_t i = n - 1; i > 0; i--) {
    size_t j = rng() % (i + 1);
    uint32_t t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

static char *random_cycle(char *base, size_t n, size_t stride) {
  uint32_t *perm = malloc(n * sizeof *perm);
  if (!perm) return NULL;
  random_perm(perm, n);
  for (size_t i = 0; i < n; i++) *(char **)(base + (size_t)perm[i] * stride) = base + (size_t)perm[(i + 1) % n] * stride;
  char *start = base + (size_t)perm[0] * stride;
  free(perm);
  return start;
}

static int chase_map(struct chase *c, size_t pages) {
  c->pages = pages;
  c->p = map_region(pages);
  if (!c->p) return -1;
  c->start = random_cycle(c->p + REG_OFF, pages, PAGE);
  return c->start ? 0 : -1;
}

/* One timed pass, cycles per page (thread CPU time). Returns < 0 when a pointer was lost (the
 * MADV_FREE pages were reclaimed). */
static double chase_pass(struct chase *c, int dependent, int write) {
  evict();
  double t0 = cpu_cycles();
  if (dependent) {
    char *q = c->start;
    for (size_t i = 0; i < c->pages && q; i++) {
      char *next = *(char **)q;
      if (write) q[64] = 1;
      q = next;
    }
    if (!q) return -1;
    g_sink += (uintptr_t)q;
  } else if (write) {
    for (size_t i = 0; i < c->pages; i++) c->p[i * PAGE + REG_OFF + 64] = 1;
  } else {
    uint64_t sum = 0;
    for (size_t i = 0; i < c->pages; i++) sum += (unsigned char)c->p[i * PAGE + REG_OFF];
    g_sink += sum;
  }
  return (cpu_cycles() - t0) / (double)c->pages;
}

enum upd { UPD_A, UPD_AD, UPD_D, UPD_A_CR };

/* Extra cycles per page of an A (read after MADV_FREE), A+D (write after MADV_FREE) or D (write
 * to A=1,D=0: MADV_FREE, then a read pass) update, in both regimes, as per-repetition differences
 * against the same pass over A=1,D=1 PTEs; plus the A-set pass costs themselves (dependent /
 * independent = the memory-level parallelism). Footprint tag e.g. "64m". */
static void measure_regimes(size_t pages, const char *tag) {
  struct chase c;
  char name[64], what[200];
  if (chase_map(&c, pages)) {
    snprintf(name, sizeof name, "chase_%s", tag);
    emit_error(name, "regime measurements", "mmap failed: %s", strerror(errno));
    return;
  }
  int reps = g_reps;
  double base[2][2][64], upd[4][2][64];
  int lost = 0;
  for (int r = 0; r < reps && r < 64; r++)
    for (int dep = 0; dep < 2; dep++) {
      for (int wr = 0; wr < 2; wr++) base[dep][wr][r] = chase_pass(&c, dep, wr); /* the write leaves A=1,D=1 */
      for (int u = 0; u < 4; u++) {
        if (u == UPD_A_CR) {
          if (clear_refs_write()) lost = 2; /* A=0, D kept */
        } else madvise(c.p, pages * PAGE, MADV_FREE); /* A=0, D=0 */
        if (u == UPD_D) (void)chase_pass(&c, 0, 0); /* A=1, D=0 */
        int wr = u == UPD_AD || u == UPD_D;
        double v = chase_pass(&c, dep, wr);
        if (v < 0 || *(char **)(c.p + REG_OFF) == NULL) lost = 1;
        upd[u][dep][r] = v - base[dep][wr][r];
        if (wr) continue;
        (void)chase_pass(&c, dep, 1); /* back to A=1,D=1 */
      }
    }
  munmap(c.p, pages * PAGE);
  const char *un[4] = {"a", "ad", "d", "acr"};
  const char *uw[4] = {"read of A=0 PTEs (MADV_FREE) - read of A=1", "write to A=0,D=0 PTEs (MADV_FREE) - write to A=1,D=1", "write to A=1,D=0 PTEs (MADV_FREE + read pass) - write to A=1,D=1",
                       "read of A=0 PTEs (clear_refs) - read of A=1"};
  for (int u = 0; u < 4; u++)
    for (int dep = 1; dep >= 0; dep--) {
      snprintf(name, sizeof name, "%s_%s_%s", un[u], dep ? "dep" : "ind", tag);
      snprintf(what, sizeof what, "%s, per page, %s over %zu MiB (%s)", uw[u], dep ? "dependent random pointer chase" : "independent page-stride stream", pages * PAGE >> 20, dep ? "each load waits for the previous" : "TLB misses overlap");
      if (lost == 2 && u == UPD_A_CR) emit_error(name, what, "/proc/self/clear_refs: cannot write it");
      else if (lost == 1) emit_error(name, what, "MADV_FREE pages were reclaimed during the pass (memory pressure); re-run on an idle host");
      else emit_samples(name, "page", upd[u][dep], reps, what);
    }
  for (int dep = 1; dep >= 0; dep--) {
    snprintf(name, sizeof name, "%s_%s", dep ? "chase" : "stream", tag);
    snprintf(what, sizeof what, "TLB-missing read of A=1 pages, per page, %s over %zu MiB (data from DRAM after the eviction sweep)", dep ? "dependent random pointer chase" : "independent page-stride stream", pages * PAGE >> 20);
    emit_samples(name, "page", base[dep][0], reps, what);
  }
}

/* One access at a time between fences, to 512 pages whose tables stay warm: the latency of one A,
 * A+D or D update with nothing to overlap, minus the median of the same access to A=1,D=1 PTEs.
 * The TLB is emptied by reading 4096 other pages (twice the STLB reach of the shipped profiles). */
static void measure_isolated(const char *name, const char *what, enum upd u) {
  const size_t pages = 512, other = 4096;
  char *p = map_region(pages), *o = map_region(other);
  if (!p || !o) {
    emit_error(name, what, "mmap failed: %s", strerror(errno));
    return;
  }
  write_pages(o, other, 0);
  int trials = g_fast ? 4 : 16;
  double *base = malloc(trials * pages * sizeof *base);
  size_t nb = 0, n = 0;
  for (int t = 0; t < trials; t++)
    for (int clear = 0; clear < 2; clear++) {
      write_pages(p, pages, 0); /* A=1, D=1 */
      if (clear) madvise(p, pages * PAGE, MADV_FREE); /* A=0, D=0 */
      if (clear && u == UPD_D) g_sink += read_pages(p, pages, 0); /* A=1, D=0 */
      g_sink += read_pages(o, other, 0);
      for (size_t i = 0; i < pages; i++) {
        char *a = p + i * PAGE + 128;
        uint64_t t0 = ptl_tsc_begin();
        if (u == UPD_A) g_sink += (unsigned char)*(volatile char *)a;
        else *(volatile char *)a = 1;
        uint64_t t1 = ptl_tsc_end();
        if (clear) g_buf[n++] = (double)(t1 - t0);
        else base[nb++] = (double)(t1 - t0);
      }
    }
  munmap(p, pages * PAGE);
  munmap(o, other * PAGE);
  qsort(base, nb, sizeof *base, cmp_double);
  double mb = quantile(base, nb, 0.5);
  free(base);
  for (size_t i = 0; i < n; i++) g_buf[i] -= mb;
  emit_samples(name, "access", g_buf, n, what);
}

/* Load-to-use latency of a random line chase within `bytes` of a THP region: warm (the second of
 * two passes) for cache sizes, or after the eviction sweep for DRAM. */
static void measure_latency(const char *name, const char *what, size_t bytes, int cold) {
  char *raw = NULL;
  size_t rawlen = 0;
  size_t pages = (bytes + PAGE - 1) / PAGE;
  if (pages < 512) pages = 512;
  char *p = map_huge(pages, &raw, &rawlen);
  if (!p) {
    emit_error(name, what, "mmap failed: %s", strerror(errno));
    return;
  }
  size_t lines = bytes / 64, step = 1;
  if (cold) {
    lines = pages; /* one line per page, so every access is a new line */
    step = PAGE / 64;
  }
  char *start = random_cycle(p, lines, step * 64);
  int reps = g_fast ? 3 : g_reps;
  double s[64];
  for (int r = 0; r < reps && r < 64; r++) {
    char *q = start;
    if (cold) evict();
    else
      for (size_t i = 0; i < lines; i++) q = *(char **)q;
    double t0 = cpu_cycles();
    for (size_t i = 0; i < lines; i++) q = *(char **)q;
    s[r] = (cpu_cycles() - t0) / (double)lines;
    g_sink += (uintptr_t)q;
  }
  munmap(raw, rawlen);
  emit_samples(name, "access", s, reps, what);
}

/* The hypervisor's CPUID vendor signature ("KVMKVMKVM", "Microsoft Hv", ...; "" on bare metal). */
static void print_hypervisor(void) {
  char sig[13];
  ptl_hypervisor_vendor(sig);
  printf("\"hypervisorSignature\":");
  json_str(sig);
  printf(",");
}

/* clear_refs with N more young PTEs minus the same call without them, per page: the scanPte price
 * (the eviction sweep before each call makes the probe's other PTEs young alike in both). */
static void measure_clear_refs(void) {
  const char *what = "write 1 to /proc/self/clear_refs with N more young PTEs minus without them, per PTE";
  size_t extra = g_fast ? 4096 : 16384;
  int m = g_fast ? 3 : 9;
  double s[64];
  for (int i = 0; i < m; i++) {
    char *p = map_written("clear_refs_pte", what, extra);
    if (!p) return;
    evict();
    double t0 = cpu_cycles();
    int rc = clear_refs_write();
    double t1 = cpu_cycles();
    munmap(p, extra * PAGE);
    evict();
    double t2 = cpu_cycles();
    rc |= clear_refs_write();
    double t3 = cpu_cycles();
    if (rc) {
      emit_error("clear_refs_pte", what, "/proc/self/clear_refs: %s", strerror(errno));
      return;
    }
    s[i] = ((t1 - t0) - (t3 - t2)) / (double)extra;
  }
  emit_samples("clear_refs_pte", "page", s, m, what);
}

/* ---------- faults ---------- */

static void measure_first_touch(const char *name, const char *what, int write) {
  size_t pages = g_fast ? 1024 : 4096;
  size_t n = 0;
  for (int r = 0; r < g_reps; r++) {
    char *p = map_region(pages);
    if (!p) {
      emit_error(name, what, "mmap failed: %s", strerror(errno));
      return;
    }
    double t0 = cpu_cycles();
    if (write) write_pages(p, pages, 0);
    else g_sink += read_pages(p, pages, 0);
    g_buf[n++] = (cpu_cycles() - t0) / (double)pages;
    munmap(p, pages * PAGE);
  }
  emit_samples(name, "fault", g_buf, n, what);
}

/* fork: child_lives=0 -> child exits before the writes (wp_page_reuse via wp_can_reuse_anon_folio);
 * child_lives=1 -> child blocks on a pipe during the writes (wp_page_copy). */
static void measure_fork_wp(const char *name, const char *what, int child_lives) {
  size_t pages = g_fast ? 1024 : 4096;
  size_t n = 0;
  for (int r = 0; r < g_reps; r++) {
    char *p = map_region(pages);
    int fds[2];
    if (!p || pipe(fds)) {
      emit_error(name, what, "mmap/pipe failed: %s", strerror(errno));
      return;
    }
    write_pages(p, pages, 0);
    pid_t pid = fork();
    if (pid < 0) {
      emit_error(name, what, "fork failed: %s", strerror(errno));
      return;
    }
    if (pid == 0) {
      char c;
      close(fds[1]);
      if (child_lives) (void)!read(fds[0], &c, 1);
      _exit(0);
    }
    close(fds[0]);
    if (!child_lives) waitpid(pid, NULL, 0);
    double t0 = cpu_cycles();
    for (size_t i = 0; i < pages; i++) p[i * PAGE + 64] = 3;
    g_buf[n++] = (cpu_cycles() - t0) / (double)pages;
    close(fds[1]);
    if (child_lives) waitpid(pid, NULL, 0);
    munmap(p, pages * PAGE);
  }
  emit_samples(name, "fault", g_buf, n, what);
}

static void measure_fork_call(const char *name, const char *what, size_t extra_pages) {
  double s[MAX_SAMPLES];
  char *p = NULL;
  if (extra_pages && !(p = map_written(name, what, extra_pages))) return;
  int reps = g_reps * 3;
  for (int r = 0; r < reps; r++) {
    /* thread CPU time: the parent copies the page tables in its own context, and time while
     * preempted by other processes of a loaded host does not count */
    double t0 = cpu_cycles();
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    double t1 = cpu_cycles();
    if (pid < 0) {
      emit_error(name, what, "fork failed: %s", strerror(errno));
      return;
    }
    waitpid(pid, NULL, 0);
    s[r] = t1 - t0;
  }
  /* anonymous resident pages: the PTEs fork copies (file text without anon_vma is not copied) */
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long resident = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "RssAnon: %ld kB", &resident) == 1) {
      resident /= 4;
      break;
    }
  if (f) fclose(f);
  if (p) munmap(p, extra_pages * PAGE);
  g_rss_pages = resident;
  emit_samples(name, "call", s, reps, what);
}

/* ---------- syscalls ---------- */

static void measure_getppid(void) {
  double s[MAX_SAMPLES];
  int n = g_fast ? 200 : 2000;
  for (int i = 0; i < n; i++) {
    uint64_t t0 = ptl_tsc_begin();
    syscall(SYS_getppid);
    uint64_t t1 = ptl_tsc_end();
    s[i] = (double)(t1 - t0);
  }
  emit_samples("syscall", "call", s, n, "getppid(): kernel entry+exit");
}

/* mprotect of `pages` touched pages, alternating PROT_READ and PROT_READ|PROT_WRITE. On 6.18 the
 * RW call upgrades exclusive anon PTEs directly (can_change_pte_writable), so both directions
 * change RW and flush. */
static int mprotect_samples(size_t pages, double *s, int n) {
  char *p = map_region(pages);
  if (!p) return -1;
  write_pages(p, pages, 0);
  for (int i = 0; i < n; i++) {
    int prot = (i & 1) ? PROT_READ | PROT_WRITE : PROT_READ;
    uint64_t t0 = ptl_tsc_begin();
    int rc = mprotect(p, pages * PAGE, prot);
    uint64_t t1 = ptl_tsc_end();
    if (rc) {
      munmap(p, pages * PAGE);
      return -1;
    }
    s[i] = (double)(t1 - t0);
    if (i & 1) p[0] = (char)i; /* the RFC loop also accesses the page */
  }
  munmap(p, pages * PAGE);
  return 0;
}

/* One sample of a many-pages measurement: up to two timed calls on `pages` freshly written pages
 * at `p`, each as cycles per page in per_page[]. Returns NULL, or the failed call's name (errno
 * set). */
typedef const char *(*big_op)(char *p, size_t pages, double *per_page, void *ctx);

/* Many pages per call on a freshly written region each time (the first change after population is
 * the common case, and costs more than repeating it on the same PTEs in some VMs), per page in
 * thread CPU time. `whats` are formats with one %zu (the page count); a second name is optional. */
/* --check --measure takes the per-page measurements one sample at a time, interleaved with the
 * scenarios (run_check_interleaved); 0 = the default sample count */
static int g_big_m;

static void measure_big(const char *name0, const char *what0, const char *name1, const char *what1, const char *label, big_op op, void *ctx) {
  size_t big = g_fast ? 1024 : 4096;
  int m = g_big_m ? g_big_m : g_fast ? 3 : 10;
  double s0[MAX_SAMPLES], s1[MAX_SAMPLES];
  for (int i = 0; i < m; i++) {
    char *p = map_written(name0, label, big);
    if (!p) return;
    double per_page[2] = {0, 0};
    const char *failed = op(p, big, per_page, ctx);
    int err = errno;
    munmap(p, big * PAGE);
    if (failed) {
      emit_error(name0, label, "%s: %s", failed, strerror(err));
      return;
    }
    s0[i] = per_page[0];
    s1[i] = per_page[1];
  }
  char what[160];
  snprintf(what, sizeof what, what0, big);
  emit_samples(name0, "page", s0, m, what);
  if (name1) {
    snprintf(what, sizeof what, what1, big);
    emit_samples(name1, "page", s1, m, what);
  }
}

/* madvise_free_pte_range clears A and D of every exclusive anon PTE (young, dirty, RW): the
 * madvisePte price */
static const char *madv_free_op(char *p, size_t pages, double *per_page, void *ctx) {
  (void)ctx;
  double t0 = cpu_cycles();
  int rc = madvise(p, pages * PAGE, MADV_FREE);
  per_page[0] = (cpu_cycles() - t0) / (double)pages;
  return rc ? "madvise(MADV_FREE)" : NULL;
}

/* each direction on its own: on 6.18 the RW call also runs can_change_pte_writable() per PTE and
 * makes the dirty PTEs writable, so the two directions can cost differently */
static void measure_madv_free_big(void) {
  measure_big("madv_free_big", "madvise(MADV_FREE) of %zu written pages, per page", NULL, NULL, "MADV_FREE of many pages", madv_free_op, NULL);
}

static const char *mprotect_op(char *p, size_t pages, double *per_page, void *ctx) {
  (void)ctx;
  double t0 = cpu_cycles();
  int rc = mprotect(p, pages * PAGE, PROT_READ);
  double t1 = cpu_cycles();
  rc |= mprotect(p, pages * PAGE, PROT_READ | PROT_WRITE);
  double t2 = cpu_cycles();
  per_page[0] = (t1 - t0) / (double)pages;
  per_page[1] = (t2 - t1) / (double)pages;
  return rc ? "mprotect" : NULL;
}

static void measure_mprotect_call(void) {
  int n = g_fast ? 200 : 2000;
  double s[MAX_SAMPLES];
  if (mprotect_samples(1, s, n)) emit_error("mprotect_call", "mprotect() of 1 page, RO<->RW", "mprotect failed: %s", strerror(errno));
  else emit_alternating("mprotect_call", "call", s, n, "mprotect(PROT_READ) of 1 writable page (1 PTE, 1 flush)", "mprotect(PROT_READ|PROT_WRITE) of 1 read-only page (6.18 upgrades it: 1 PTE, 1 flush)");
}

static void measure_mprotect_big(void) {
  measure_big("mprotect_big_ro", "mprotect(PROT_READ) of %zu writable pages, per page", "mprotect_big_rw",
              "mprotect(PROT_READ|PROT_WRITE) of %zu read-only pages (6.18 upgrades them), per page", "mprotect() of many pages",
              mprotect_op, NULL);
}

static volatile int g_spin_stop;
static char *g_spin_mem;
static int g_idle_pipe[2];

/* The second thread of the mm, on CPU 1: busy = spins reading the mm's memory (CPU 1 keeps the mm
 * loaded and takes every shootdown IPI); idle = touches the memory once, then blocks on a pipe, so
 * CPU 1 goes idle with the mm lazily loaded (lazy TLB: the flush may skip it). */
static void *neighbour(void *arg) {
  int idle = (int)(intptr_t)arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(1, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (idle) {
    char c;
    g_sink += (unsigned char)g_spin_mem[0];
    (void)!read(g_idle_pipe[0], &c, 1);
    return NULL;
  }
  while (!g_spin_stop) g_sink += (unsigned char)g_spin_mem[0];
  return NULL;
}

/* Nadav's method: the same mprotect loop with a second thread of the mm on another CPU. With a
 * busy neighbour each flush becomes a shootdown IPI; with an idle one (lazy TLB) it may not. The
 * probe's own spinner processes (--spin-others) are stopped meanwhile, so CPU 1 runs only the
 * neighbour (or nothing). */
static void measure_mprotect_2t_one(int idle) {
  const char *name = idle ? "mprotect_call_2t_idle" : "mprotect_call_2t";
  const char *what = idle ? "mprotect() of 1 page with a 2nd thread of the mm asleep after running on CPU 1 (idle neighbour)"
                          : "mprotect() of 1 page with a 2nd thread spinning on CPU 1 (busy neighbour: shootdown IPI)";
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
    emit_error(name, what, "needs 2 online CPUs, this host has 1");
    return;
  }
  cpu_set_t set, old;
  sched_getaffinity(0, sizeof old, &old);
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  if (sched_setaffinity(0, sizeof set, &set)) {
    emit_error(name, what, "sched_setaffinity failed: %s", strerror(errno));
    return;
  }
  for (int i = 0; i < ptl_nspin; i++) kill(ptl_spinners[i], SIGSTOP);
  g_spin_mem = map_region(1);
  g_spin_mem[0] = 1;
  g_spin_stop = 0;
  if (idle && pipe(g_idle_pipe)) {
    emit_error(name, what, "pipe failed: %s", strerror(errno));
    return;
  }
  pthread_t th;
  pthread_create(&th, NULL, neighbour, (void *)(intptr_t)idle);
  usleep(20000);
  int n = g_fast ? 200 : 2000;
  double s[MAX_SAMPLES];
  int rc = mprotect_samples(1, s, n);
  g_spin_stop = 1;
  if (idle) {
    (void)!write(g_idle_pipe[1], "x", 1);
    close(g_idle_pipe[1]);
  }
  pthread_join(th, NULL);
  if (idle) close(g_idle_pipe[0]);
  for (int i = 0; i < ptl_nspin; i++) kill(ptl_spinners[i], SIGCONT);
  sched_setaffinity(0, sizeof old, &old);
  munmap(g_spin_mem, PAGE);
  if (rc) emit_error(name, what, "mprotect failed: %s", strerror(errno));
  else if (idle) emit_alternating(name, "call", s, n, "mprotect(PROT_READ) of 1 page, idle neighbour on CPU 1", "mprotect(PROT_READ|PROT_WRITE) of 1 page, idle neighbour on CPU 1");
  else emit_alternating(name, "call", s, n, "mprotect(PROT_READ) of 1 page with a 2nd thread on CPU 1", "mprotect(PROT_READ|PROT_WRITE) of 1 page with a 2nd thread on CPU 1");
}

static void measure_mprotect_2t(void) {
  measure_mprotect_2t_one(0);
  measure_mprotect_2t_one(1);
}

/* ---------- userfaultfd ---------- */

static int uffd_open(uint64_t features, char *err, size_t errlen) {
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    snprintf(err, errlen, "userfaultfd(): %s%s", strerror(errno), errno == EPERM ? " (needs root, CAP_SYS_PTRACE or vm.unprivileged_userfaultfd=1)" : "");
    return -1;
  }
  struct uffdio_api api = {.api = UFFD_API, .features = features};
  if (ioctl(fd, UFFDIO_API, &api)) {
    snprintf(err, errlen, "UFFDIO_API features 0x%llx: %s (kernel too old?)", (unsigned long long)features, strerror(errno));
    close(fd);
    return -1;
  }
  return fd;
}

static int uffd_register_wp(int fd, char *p, size_t pages) {
  struct uffdio_register reg = {.range = {.start = (uintptr_t)p, .len = pages * PAGE}, .mode = UFFDIO_REGISTER_MODE_WP};
  return ioctl(fd, UFFDIO_REGISTER, &reg);
}

static int uffd_wp(int fd, char *p, size_t pages, int protect) {
  struct uffdio_writeprotect wp = {.range = {.start = (uintptr_t)p, .len = pages * PAGE}, .mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
  return ioctl(fd, UFFDIO_WRITEPROTECT, &wp);
}

/* A userfaultfd with `features` for measurement `name`, or -1 after printing why not. */
static int uffd_open_for(const char *name, const char *what, uint64_t features) {
  char err[256];
  int fd = uffd_open(features, err, sizeof err);
  if (fd < 0) emit_error(name, what, "%s", err);
  return fd;
}

/* One written page registered for write-protect faults on a new userfaultfd (*fd), or NULL after
 * printing why not. */
static char *uffd_wp_page(const char *name, const char *what, int *fd) {
  *fd = uffd_open_for(name, what, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
  if (*fd < 0) return NULL;
  char *p = map_written(name, what, 1);
  if (p && uffd_register_wp(*fd, p, 1)) {
    emit_error(name, what, "UFFDIO_REGISTER(WP): %s", strerror(errno));
    munmap(p, PAGE);
    p = NULL;
  }
  if (!p) close(*fd);
  return p;
}

static void measure_uffd_ioctl(void) {
  const char *what = "UFFDIO_WRITEPROTECT of 1 page, alternating protect/unprotect";
  int fd;
  char *p = uffd_wp_page("uffd_ioctl", what, &fd);
  if (!p) return;
  int n = g_fast ? 200 : 2000;
  double s[MAX_SAMPLES];
  for (int i = 0; i < n; i++) {
    uint64_t t0 = ptl_tsc_begin();
    int rc = uffd_wp(fd, p, 1, !(i & 1));
    uint64_t t1 = ptl_tsc_end();
    if (rc) {
      emit_error("uffd_ioctl", what, "UFFDIO_WRITEPROTECT: %s", strerror(errno));
      close(fd);
      return;
    }
    s[i] = (double)(t1 - t0);
  }
  close(fd);
  munmap(p, PAGE);
  emit_alternating("uffd_ioctl", "call", s, n, "UFFDIO_WRITEPROTECT protect of 1 page", "UFFDIO_WRITEPROTECT unprotect of 1 page (6.18 makes it writable)");
}

/* UFFDIO_WRITEPROTECT of many pages per call, each direction on its own, like mprotect_big_*: the
 * uffdChangePte price */
static const char *uffd_wp_op(char *p, size_t pages, double *per_page, void *ctx) {
  int fd = *(int *)ctx;
  if (uffd_register_wp(fd, p, pages)) return "UFFDIO_REGISTER(WP)";
  double t0 = cpu_cycles();
  int rc = uffd_wp(fd, p, pages, 1);
  double t1 = cpu_cycles();
  rc |= uffd_wp(fd, p, pages, 0);
  double t2 = cpu_cycles();
  per_page[0] = (t1 - t0) / (double)pages;
  per_page[1] = (t2 - t1) / (double)pages;
  return rc ? "UFFDIO_WRITEPROTECT" : NULL;
}

static void measure_uffd_big(void) {
  const char *what = "UFFDIO_WRITEPROTECT of many pages";
  int fd = uffd_open_for("uffd_big_wp", what, UFFD_FEATURE_PAGEFAULT_FLAG_WP);
  if (fd < 0) return;
  measure_big("uffd_big_wp", "UFFDIO_WRITEPROTECT protect of %zu written pages, per page", "uffd_big_unwp",
              "UFFDIO_WRITEPROTECT unprotect of %zu protected pages (6.18 makes them writable), per page", what, uffd_wp_op, &fd);
  close(fd);
}

static int g_rt_fd;
static volatile int g_rt_stop;

static void *uffd_handler(void *arg) {
  (void)arg;
  struct pollfd pfd = {.fd = g_rt_fd, .events = POLLIN};
  while (!g_rt_stop) {
    if (poll(&pfd, 1, 100) <= 0) continue;
    struct uffd_msg msg;
    if (read(g_rt_fd, &msg, sizeof msg) != sizeof msg) continue;
    if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
    uintptr_t page = msg.arg.pagefault.address & ~(PAGE - 1);
    uffd_wp(g_rt_fd, (char *)page, 1, 0); /* resolve and wake */
  }
  return NULL;
}

static void measure_uffd_roundtrip(void) {
  const char *what = "write to a uffd-wp page: fault, message to a handler thread, UFFDIO_WRITEPROTECT resolve, resume";
  char *p = uffd_wp_page("uffd_wp_roundtrip", what, &g_rt_fd); /* the handler thread's too */
  if (!p) return;
  g_rt_stop = 0;
  pthread_t th;
  pthread_create(&th, NULL, uffd_handler, NULL);
  int n = g_fast ? 30 : 300;
  double s[MAX_SAMPLES];
  for (int i = 0; i < n; i++) {
    uffd_wp(g_rt_fd, p, 1, 1);
    uint64_t t0 = ptl_tsc_begin();
    p[64] = (char)i;
    uint64_t t1 = ptl_tsc_end();
    s[i] = (double)(t1 - t0);
  }
  g_rt_stop = 1;
  pthread_join(th, NULL);
  close(g_rt_fd);
  munmap(p, PAGE);
  emit_samples("uffd_wp_roundtrip", "fault", s, n, what);
}

static void measure_uffd_async(void) {
  const char *what = "write fault on a uffd-wp page with UFFD_FEATURE_WP_ASYNC (kernel clears uffd-wp, then wp_page_reuse)";
  int fd = uffd_open_for("uffd_wp_async_fault", what, UFFD_FEATURE_PAGEFAULT_FLAG_WP | UFFD_FEATURE_WP_ASYNC);
  if (fd < 0) return;
  size_t pages = g_fast ? 1024 : 4096;
  size_t n = 0;
  for (int r = 0; r < g_reps; r++) {
    char *p = map_region(pages);
    write_pages(p, pages, 0);
    if (uffd_register_wp(fd, p, pages) || uffd_wp(fd, p, pages, 1)) {
      emit_error("uffd_wp_async_fault", what, "UFFDIO_REGISTER/WRITEPROTECT: %s", strerror(errno));
      close(fd);
      return;
    }
    double t0 = cpu_cycles();
    for (size_t i = 0; i < pages; i++) p[i * PAGE + 64] = 4;
    g_buf[n++] = (cpu_cycles() - t0) / (double)pages;
    munmap(p, pages * PAGE);
  }
  close(fd);
  emit_samples("uffd_wp_async_fault", "fault", g_buf, n, what);
}

/* ---------- composite scenarios for --check (not used for fitting) ---------- */

static uint32_t *g_seed_pages;
static size_t g_seed_n;
static uint32_t *g_even, *g_odd, *g_chase;
static size_t g_even_n, g_odd_n, g_chase_n;

static int load_list(FILE *f, uint32_t **out, size_t *n) {
  size_t cnt;
  if (fscanf(f, "%zu", &cnt) != 1) return -1;
  *out = calloc(cnt ? cnt : 1, sizeof(uint32_t));
  for (size_t i = 0; i < cnt; i++)
    if (fscanf(f, "%u", &(*out)[i]) != 1) return -1;
  *n = cnt;
  return 0;
}

#define CHECK_PAGES 4096



/* seed: 4096 written pages, MADV_FREE (clean, old), uffd protect, unprotect, write the listed pages */
static double check_seed(char *err, size_t errlen, double *mid) {
  int fd = uffd_open(UFFD_FEATURE_PAGEFAULT_FLAG_WP, err, errlen);
  if (fd < 0) return -1;
  double t0 = cpu_cycles();
  char *p = map_region(CHECK_PAGES);
  write_pages(p, CHECK_PAGES, 0);
  *mid = cpu_cycles();
  madvise(p, CHECK_PAGES * PAGE, MADV_FREE);
  if (uffd_register_wp(fd, p, CHECK_PAGES) || uffd_wp(fd, p, CHECK_PAGES, 1) || uffd_wp(fd, p, CHECK_PAGES, 0)) {
    snprintf(err, errlen, "uffd register/writeprotect: %s", strerror(errno));
    close(fd);
    return -1;
  }
  for (size_t i = 0; i < g_seed_n; i++) p[(size_t)g_seed_pages[i] * PAGE + 64] = 5;
  double t1 = cpu_cycles();
  *mid = t1 - *mid;
  close(fd);
  munmap(p, CHECK_PAGES * PAGE);
  return t1 - t0;
}

/* mprotect RO then RW over 4096 written pages, then writes to the even list and reads of the odd list */
static double check_mprotect_mix(double *mid) {
  double t0 = cpu_cycles();
  char *p = map_region(CHECK_PAGES);
  write_pages(p, CHECK_PAGES, 0);
  *mid = cpu_cycles();
  mprotect(p, CHECK_PAGES * PAGE, PROT_READ);
  mprotect(p, CHECK_PAGES * PAGE, PROT_READ | PROT_WRITE);
  for (size_t i = 0; i < g_even_n; i++) p[(size_t)g_even[i] * PAGE + 64] = 6;
  uint64_t s = 0;
  for (size_t i = 0; i < g_odd_n; i++) s += (unsigned char)p[(size_t)g_odd[i] * PAGE + 64];
  double t1 = cpu_cycles();
  *mid = t1 - *mid;
  g_sink += s;
  munmap(p, CHECK_PAGES * PAGE);
  return t1 - t0;
}

/* fork with 4096 written pages, the child stays alive, the parent writes every page (CoW) */
static double check_fork_writes(char *err, size_t errlen, double *mid) {
  int fds[2];
  if (pipe(fds)) {
    snprintf(err, errlen, "pipe: %s", strerror(errno));
    return -1;
  }
  double t0 = cpu_cycles();
  char *p = map_region(CHECK_PAGES);
  write_pages(p, CHECK_PAGES, 0);
  *mid = cpu_cycles();
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(fds[1]);
    (void)!read(fds[0], &c, 1);
    _exit(0);
  }
  for (size_t i = 0; i < CHECK_PAGES; i++) p[i * PAGE + 64] = 7;
  double t1 = cpu_cycles();
  *mid = t1 - *mid;
  close(fds[0]);
  close(fds[1]);
  waitpid(pid, NULL, 0);
  munmap(p, CHECK_PAGES * PAGE);
  if (pid < 0) {
    snprintf(err, errlen, "fork: %s", strerror(errno));
    return -1;
  }
  return t1 - t0;
}

#define CHECK_STREAM_PAGES 262144UL /* 1 GiB */

/* 1 GiB written, clear_refs (A cleared), then one read per page in address order: an independent
 * stream whose every walk sets A */
static double check_stream_clear_refs(char *err, size_t errlen, double *mid) {
  double t0 = cpu_cycles();
  char *p = map_region(CHECK_STREAM_PAGES);
  if (!p) {
    snprintf(err, errlen, "mmap of 1 GiB: %s", strerror(errno));
    return -1;
  }
  write_pages(p, CHECK_STREAM_PAGES, 0);
  *mid = cpu_cycles();
  if (clear_refs_write()) {
    snprintf(err, errlen, "/proc/self/clear_refs: %s", strerror(errno));
    munmap(p, CHECK_STREAM_PAGES * PAGE);
    return -1;
  }
  uint64_t s = 0;
  for (size_t i = 0; i < CHECK_STREAM_PAGES; i++) s += (unsigned char)p[i * PAGE + 64];
  double t1 = cpu_cycles();
  *mid = t1 - *mid;
  g_sink += s;
  munmap(p, CHECK_STREAM_PAGES * PAGE);
  return t1 - t0;
}

/* 128 MiB whose pages hold the next page of the listed random cycle (written in address order),
 * MADV_FREE (A and D cleared), then a dependent pointer chase along the cycle */
static double check_chase_madv_free(char *err, size_t errlen, double *mid) {
  size_t pages = g_chase_n;
  uint32_t *next = malloc(pages * sizeof *next);
  for (size_t i = 0; i < pages; i++) next[g_chase[i]] = g_chase[(i + 1) % pages];
  double t0 = cpu_cycles();
  char *p = map_region(pages);
  if (!p) {
    snprintf(err, errlen, "mmap: %s", strerror(errno));
    free(next);
    return -1;
  }
  for (size_t i = 0; i < pages; i++) *(char **)(p + i * PAGE + 64) = p + (size_t)next[i] * PAGE + 64;
  *mid = cpu_cycles();
  madvise(p, pages * PAGE, MADV_FREE);
  char *q = p + (size_t)g_chase[0] * PAGE + 64;
  for (size_t i = 0; i < pages && q; i++) q = *(char **)q;
  double t1 = cpu_cycles();
  *mid = t1 - *mid;
  free(next);
  munmap(p, pages * PAGE);
  if (!q) {
    snprintf(err, errlen, "MADV_FREE pages were reclaimed during the chase (memory pressure); re-run on an idle host");
    return -1;
  }
  g_sink += (uintptr_t)q;
  return t1 - t0;
}

/* Two results per scenario: the total from mmap on, and the part after the first fill (the
 * scenario proper, without the first-touch faults that dominate the total). */
static void run_check(int reps) {
  double s[MAX_SAMPLES], after[MAX_SAMPLES];
  char err[256];
  const char *names[5] = {"seed-uffd-unprotect-write", "mprotect-ro-rw-mix", "fork-parent-writes", "stream-1g-clear-refs", "chase-128m-madv-free"};
  for (int k = 0; k < 5; k++) {
    int n = 0, failed = 0;
    for (int r = 0; r < reps && !failed; r++) {
      double mid = 0;
      double v = k == 0 ? check_seed(err, sizeof err, &mid) : k == 1 ? check_mprotect_mix(&mid) : k == 2 ? check_fork_writes(err, sizeof err, &mid) : k == 3 ? check_stream_clear_refs(err, sizeof err, &mid) : check_chase_madv_free(err, sizeof err, &mid);
      if (v < 0) failed = 1;
      else {
        after[n] = mid;
        s[n++] = v;
      }
    }
    char name2[96];
    snprintf(name2, sizeof name2, "%s/after-fill", names[k]);
    if (failed) {
      emit_error(names[k], "scenario total", "%s", err);
      emit_error(name2, "scenario after the first fill", "%s", err);
    } else {
      emit_samples(names[k], "scenario", s, n, "scenario total (thread CPU time in TSC cycles), from mmap to the last access");
      emit_samples(name2, "scenario", after, n, "the steps after the first fill (thread CPU time in TSC cycles)");
    }
  }
}

#include "thp.c"

/* --check --measure: the per-page prices of the scenarios' kernel steps (MADV_FREE, mprotect,
 * UFFDIO_WRITEPROTECT of many pages) are measured one sample at a time, each round right before one
 * repetition of every scenario, so the calibration and the scenarios see the host in the same
 * states. On the Zen 3 KVM guest the first per-PTE pass after a fill flips between ~170 and
 * ~350 cycles a page from one minute to the next (docs/cost-model.md); measured minutes apart, the
 * profile and the scenarios could each catch a different state. The runner pools the rounds'
 * samples by name (probe-runner.ts poolRounds). */
static void run_check_interleaved(int reps) {
  g_big_m = 1;
  for (int r = 0; r < reps; r++) {
    measure_madv_free_big();
    measure_mprotect_big();
    measure_uffd_big();
    run_check(1);
  }
  g_big_m = 0;
}

/* ---------- main ---------- */

/* --spin-others: the spinners are this program run again with this flag (ptl_pin_and_spin) */
#define SPINNER_FLAG "--spinner"

int main(int argc, char **argv) {
  int check = 0, measure = 0, spin = 0;
  const char *regimes = NULL;
  const char *check_file = NULL;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], SPINNER_FLAG) && i + 2 < argc) ptl_spin_main(atoi(argv[i + 1]), (pid_t)atoi(argv[i + 2]));
    else if (!strcmp(argv[i], "--fast")) g_fast = 1;
    else if (!strcmp(argv[i], "--check")) check = 1;
    else if (!strcmp(argv[i], "--measure")) measure = 1;
    else if (!strcmp(argv[i], "--spin-others")) spin = 1;
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc) g_reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--check-pages") && i + 1 < argc) check_file = argv[++i];
    else if (!strcmp(argv[i], "--regimes") && i + 1 < argc) regimes = argv[++i];
    else {
      fprintf(stderr, "probe: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (g_reps < 1) g_reps = 1;
  if (g_reps > 64) g_reps = 64;
  setvbuf(stdout, NULL, _IOFBF, 1 << 16);
  /* within the CPUs this process may use (a cpuset may exclude CPU 0): the probe takes the
   * first, a spinner each of the others */
  if (spin) ptl_pin_and_spin(SPINNER_FLAG);
  g_tsc_ghz = ptl_tsc_ghz();
  g_buf = malloc(BUF_SAMPLES * sizeof *g_buf);
  if (!g_buf) return 1;
  printf("{\"probe\":2,");
  print_hypervisor();
  printf("\"fast\":%s,\"reps\":%d,\"tscGHz\":%.4f,\"results\":[", g_fast ? "true" : "false", g_reps, g_tsc_ghz);

  if (regimes) {
    /* only the regime measurements, at the listed footprints in MiB (e.g. 128,1024) */
    g_evict_bytes = 64UL << 20;
    g_evict = map_region(g_evict_bytes / PAGE);
    if (!g_evict) return 1;
    memset(g_evict, 1, g_evict_bytes);
    for (const char *q = regimes; *q;) {
      char *end;
      unsigned long mib = strtoul(q, &end, 10);
      if (end == q || mib < 1 || mib > 65536) {
        fprintf(stderr, "probe: --regimes needs MiB sizes separated by commas, e.g. 128,1024\n");
        return 2;
      }
      char tag[32];
      snprintf(tag, sizeof tag, "%lum", mib);
      measure_regimes(mib * 256, tag);
      q = *end == ',' ? end + 1 : end;
    }
    ptl_stop_spinners();
    printf("\n]}\n");
    return 0;
  }
  if (check) {
    FILE *f = check_file ? fopen(check_file, "r") : NULL;
    if (!f || load_list(f, &g_seed_pages, &g_seed_n) || load_list(f, &g_even, &g_even_n) || load_list(f, &g_odd, &g_odd_n) || load_list(f, &g_chase, &g_chase_n)) {
      fprintf(stderr, "probe: --check needs --check-pages FILE with four lists (count then indices)\n");
      return 2;
    }
    fclose(f);
    if (!measure) {
      run_check(g_reps);
      ptl_stop_spinners();
      printf("\n]}\n");
      return 0;
    }
  }

  measure_getppid();
  if (!g_fast) {
    /* before the eviction buffer exists, so the probe's own anon pages are few */
    measure_fork_call("fork_call", "fork() of the probe, parent side", 0);
    measure_fork_call("fork_call_16k", "fork() with 16384 more written pages, parent side", 16384);
  }
  measure_thp_fork(); /* thp.c: also before the eviction buffer, for the same reason */
  g_evict_bytes = (g_fast ? 16UL : 64UL) << 20;
  g_evict = map_region(g_evict_bytes / PAGE);
  if (!g_evict) {
    fprintf(stderr, "probe: cannot map the eviction buffer\n");
    return 1;
  }
  memset(g_evict, 1, g_evict_bytes);
  size_t cold = g_fast ? 4096 : 16384;

  measure_hot("hot_read", "TLB-hot read (32 pages, L1 DTLB hits)", 0, 0);
  measure_hot("hot_write", "TLB-hot write (32 pages, cached D=1)", 1, 0);
  measure_cached_write("cached_write", "write to 512 pages with cached translations, D=1", 0);
  measure_cached_write("cached_write_dset", "write through cached A=1,D=0 translations of 512 pages (sets D: re-walk or assist)", 1);
  measure_host_page(); /* thp.c: the host page size; before huge_read, whose walk price depends on it */
  measure_cold("huge_read", "same reads on a THP region (cache misses, one TLB miss per 512 pages)", cold, PREP_HUGE, 0);
  measure_cold("walk_read", "TLB-cold read of A=1,D=1 PTEs (page walk)", cold, PREP_AD, 0);
  measure_cold("walk_write", "TLB-cold write to A=1,D=1 PTEs (page walk)", cold, PREP_AD, 1);
  measure_cold("a_read", "TLB-cold read after MADV_FREE (walk sets A)", cold, PREP_FREE, 0);
  measure_cold("ad_write", "TLB-cold write after MADV_FREE (walk sets A and D)", cold, PREP_FREE, 1);
  measure_cold("d_write_cold", "TLB-cold write to A=1,D=0 PTEs (walk sets D)", cold, PREP_FREE_THEN_READ, 1);
  measure_isolated("a_iso", "read of one page at a time (fenced) after MADV_FREE, warm tables: the A update with nothing to overlap", UPD_A);
  measure_isolated("ad_iso", "write of one page at a time (fenced) after MADV_FREE, warm tables: the A+D update", UPD_AD);
  measure_isolated("d_iso", "write of one page at a time (fenced) to A=1,D=0 PTEs, warm tables: the D update", UPD_D);
  measure_latency("lat_l2", "random line chase within 256 KiB, warm (L2)", 256UL << 10, 0);
  /* past L2: the LLC latency (2 MiB) and how much of the LLC this core really gets (a guest
   * shares it): the latency at 4-16 MiB gives the capacity that still hits */
  measure_latency("lat_2m", "random line chase within 2 MiB, warm (LLC)", 2UL << 20, 0);
  measure_latency("lat_4m", "random line chase within 4 MiB, warm", 4UL << 20, 0);
  measure_latency("lat_8m", "random line chase within 8 MiB, warm", 8UL << 20, 0);
  measure_latency("lat_16m", "random line chase within 16 MiB, warm", 16UL << 20, 0);
  measure_latency("lat_dram", "random chase, one line per page of 256 MiB on THP, after the eviction sweep (DRAM)", g_fast ? 32UL << 20 : 256UL << 20, 1);
  /* two footprints, neither one of the --check scenarios' (128 MiB, 1 GiB) */
  measure_regimes(g_fast ? 2048 : 16384, g_fast ? "8m" : "64m");
  measure_regimes(g_fast ? 8192 : 131072, g_fast ? "32m" : "512m");
  if (!g_fast) {
    measure_first_touch("anon_write_fault", "first write to fresh anon memory (do_anonymous_page: alloc, zero, map)", 1);
    measure_first_touch("zero_read_fault", "first read of fresh anon memory (maps the shared zero page)", 0);
    measure_fork_wp("wp_reuse_fault", "write after fork+child exit (do_wp_page -> wp_page_reuse)", 0);
    measure_fork_wp("wp_copy_fault", "write while a forked child lives (do_wp_page -> wp_page_copy)", 1);
  } else {
    measure_first_touch("anon_write_fault", "first write to fresh anon memory (do_anonymous_page: alloc, zero, map)", 1);
  }
  measure_mprotect_call();
  if (!check) measure_mprotect_big();
  measure_clear_refs();
  if (!check) measure_madv_free_big();
  if (!g_fast) measure_mprotect_2t();
  measure_uffd_ioctl();
  if (!check) measure_uffd_big();
  measure_uffd_roundtrip();
  if (!g_fast) measure_uffd_async();
  measure_thp();
  if (check) {
    /* the check scenarios fork: without the eviction buffer, like the --check-only process */
    munmap(g_evict, g_evict_bytes);
    g_evict = NULL;
    run_check_interleaved(g_reps);
  }
  ptl_stop_spinners();
  printf("\n]}\n");
  return 0;
}
