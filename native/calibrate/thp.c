/*
 * Transparent huge pages: the PMD-level fault, split and collapse paths, measured on this host.
 * Included by probe.c (its helpers: cpu_cycles, emit_samples, emit_error, emit_verror, g_reps);
 * written for ptlab (MIT), no kernel code copied. Kernel paths as read in mm/huge_memory.c and
 * mm/khugepaged.c of 6.18 (and modelled in src/kernel/huge_memory.ts, khugepaged.ts):
 *
 *  thp_fault            first write to a 2 MiB-aligned MADV_HUGEPAGE range:
 *                       do_huge_pmd_anonymous_page allocates an order-9 folio, zeroes 2 MiB
 *                       (folio_zero_user) and maps it with one PMD
 *  thp_clear_user       the same 2 MiB cleared again from user space with rep stosb, 4 KiB at a
 *                       time (what clear_page_erms does per subpage), for the zeroing's share
 *  thp_zero_read_fault  first read of such a range with use_zero_page=1: the huge zero page
 *                       mapped read-only by a PMD
 *  thp_zero_wp_fault    first write to a huge-zero-page PMD: from 6.13 do_huge_zero_wp_pmd maps a
 *                       new THP (the old PMD cleared and flushed); before, the PMD is split
 *  thp_cow_fault        write to a THP shared with a forked child that still lives:
 *                       do_huge_pmd_wp_page cannot reuse it, splits the PMD and falls back to the
 *                       PTE path, which copies one 4 KiB page (wp_page_copy)
 *  thp_split_mprotect   mprotect(PROT_READ) of one 4 KiB page inside a THP: the VMA split runs
 *                       __split_huge_pmd (512 PTEs, the 2 MiB translation flushed) first
 *  thp_split_base       the same call inside a 4 KiB-mapped range (the VMA split and the 1-page
 *                       change without a PMD split): the difference is the PMD split
 *  thp_collapse         MADV_COLLAPSE (6.1+) of 512 present 4 KiB PTEs: a new THP, 2 MiB copied,
 *                       the PTE table freed, the range flushed, the PMD mapped
 *  thp_copy_user        2 MiB copied from user space with rep movsb, 4 KiB at a time
 *  thp_free_partial     MADV_FREE of one 4 KiB page inside a THP: madvise_free_huge_pmd splits the
 *                       folio (split_folio: the PMD split, then 512 order-0 folios), then the PTE
 *                       is freed; thp_free_base is the same call inside 4 KiB pages (thp_split_page
 *                       in /proc/vmstat must grow by one per call). Every page is written first:
 *                       from 6.12 a split maps zero-filled subpages to the shared zero page.
 *  thp_wp_reuse_fault   write to a THP after fork and the child's exit: do_huge_pmd_wp_page finds
 *                       the folio's only reference and reuses it (the PMD made writable in place)
 *  thp_mprotect_whole   mprotect(PROT_READ) of 16 whole THPs in one call: change_huge_pmd on each
 *  thp_zap              MADV_DONTNEED of 16 whole THPs in one call: zap_huge_pmd on each
 *  thp_fork, thp_fork_base   fork() with 64 THPs mapped, and without them: copy_huge_pmd on each
 *  hostpage_thp, hostpage_4k, hostpage_compact   not a kernel path: the TLB reach of a PMD-mapped
 *                       THP against 4 KiB pages, which tells a guest its host's page size
 *                       (measure_host_page below)
 *
 * The sizes are the same with --fast (a few milliseconds in all): with a smaller region the 2 MiB
 * clears would hit in the LLC, and the fast subset would measure another regime.
 * Every measurement checks that the kernel really took the path: AnonHugePages of the range in
 * /proc/self/smaps, and minor-fault counts (getrusage) for the huge zero page, which smaps does
 * not count as anonymous. When the path was not taken it prints an error, never samples.
 * Samples are thread CPU time (kernel time included, time preempted excluded) per fault or call;
 * waits for other CPUs (lru_add_drain_all in MADV_COLLAPSE) are not counted.
 */
#include <sys/resource.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define HPAGE (2UL << 20)
#define HPAGE_PAGES 512

static const char *g_thp_why; /* why THP cannot be measured here, or NULL */
static int g_thp_zero_page = -1;

/* the bracketed word of /sys/kernel/mm/transparent_hugepage/enabled: always, madvise or never */
static void thp_read_settings(void) {
  static char why[160];
  static int done;
  char buf[128] = "";
  if (done++) return;
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f) {
    g_thp_why = "no /sys/kernel/mm/transparent_hugepage/enabled (a kernel without CONFIG_TRANSPARENT_HUGEPAGE)";
    return;
  }
  if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
  fclose(f);
  char *l = strchr(buf, '['), *r = l ? strchr(l, ']') : NULL;
  if (!l || !r) {
    snprintf(why, sizeof why, "cannot read the setting in transparent_hugepage/enabled (\"%.60s\")", buf);
    g_thp_why = why;
    return;
  }
  *r = 0;
  if (strcmp(l + 1, "always") && strcmp(l + 1, "madvise")) {
    snprintf(why, sizeof why, "transparent_hugepage/enabled is %s: no THP faults (set it to madvise or always)", l + 1);
    g_thp_why = why;
    return;
  }
  f = fopen("/sys/kernel/mm/transparent_hugepage/use_zero_page", "r");
  if (f) {
    if (fscanf(f, "%d", &g_thp_zero_page) != 1) g_thp_zero_page = -1;
    fclose(f);
  }
}

/* n 2 MiB-aligned huge ranges with `advice` (MADV_HUGEPAGE or MADV_NOHUGEPAGE); raw is NULL while
 * nothing is mapped, so hunmap() can be called on a region in any state */
struct hregion {
  char *raw, *p;
  size_t rawlen, n;
};

static int hmap(struct hregion *h, size_t n, int advice) {
  h->n = n;
  h->rawlen = (n + 1) * HPAGE;
  h->raw = mmap(NULL, h->rawlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (h->raw == MAP_FAILED) {
    h->raw = NULL;
    return -1;
  }
  h->p = (char *)(((uintptr_t)h->raw + HPAGE - 1) & ~(HPAGE - 1));
  if (madvise(h->p, n * HPAGE, advice)) {
    munmap(h->raw, h->rawlen);
    h->raw = NULL;
    return -1;
  }
  return 0;
}

static void hunmap(struct hregion *h) {
  if (h->raw) munmap(h->raw, h->rawlen);
  h->raw = NULL;
}

/* kB of AnonHugePages in the VMAs of /proc/self/smaps inside [start, start + len): what PMDs map */
static long anon_huge_kb_in(const char *start, size_t len) {
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  long total = 0, kb;
  int inside = 0;
  uintptr_t a, b, s = (uintptr_t)start, e = s + len;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, ' ')) inside = a < e && b > s;
    else if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) total += kb;
  }
  fclose(f);
  return total;
}

static long minor_faults(void) {
  struct rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_minflt;
}

/* 4 KiB at a time, as clear_page_erms / copy_page do per subpage */
static void clear_2m(char *p) {
  for (size_t i = 0; i < HPAGE_PAGES; i++) {
    void *d = p + i * PAGE;
    size_t c = PAGE;
    __asm__ __volatile__("rep stosb" : "+D"(d), "+c"(c) : "a"(0) : "memory");
  }
}

static void copy_2m(char *dst, const char *src) {
  for (size_t i = 0; i < HPAGE_PAGES; i++) {
    void *d = dst + i * PAGE;
    const void *s = src + i * PAGE;
    size_t c = PAGE;
    __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(s), "+c"(c) : : "memory");
  }
}

static int thp_reps(void) {
  int r = g_reps * 2;
  return r > MAX_SAMPLES ? MAX_SAMPLES : r;
}

/* a counter of /proc/vmstat (thp_split_page, ...), or -1 */
static long vmstat(const char *name) {
  FILE *f = fopen("/proc/vmstat", "r");
  char key[64];
  long v, out = -1;
  if (!f) return -1;
  while (fscanf(f, "%63s %ld", key, &v) == 2)
    if (!strcmp(key, name)) {
      out = v;
      break;
    }
  fclose(f);
  return out;
}

/* ---------- one THP measurement, or two taken in the same passes ---------- */

struct thp_measurement;

/* One repetition on n 2 MiB ranges: the sample of each measurement (per fault or call) in *s and
 * *s2, or -1 after thp_fail(). The regions it maps in h[0] and h[1] are unmapped by the caller. */
typedef int (*thp_pass)(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *s2);

/* A THP measurement and the one taken in the same passes with it (its 4 KiB base, or the next step
 * on the same ranges); name2 is NULL for a measurement on its own. */
struct thp_measurement {
  const char *name, *unit, *what;
  const char *name2, *unit2, *what2;
  size_t n; /* 2 MiB ranges per pass */
  int thps; /* each pass starts from n written THPs in h[0] (thp_region); else it maps its own */
  thp_pass pass;
  const char *(*unavailable)(void); /* why this host cannot take the path, or NULL; may be NULL */
  /* set by a pass when only the second measurement failed (the first goes on): its error */
  char error2[256];
};

/* The pair cannot be measured: the first measurement's error, and why the second was not measured
 * (`why2`, NULL without a second). Returns -1, for a pass to return. */
static int thp_fail(const struct thp_measurement *m, const char *why2, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int thp_fail(const struct thp_measurement *m, const char *why2, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emit_verror(m->name, m->what, fmt, ap);
  va_end(ap);
  if (m->name2) emit_error(m->name2, m->what2, "%s", why2);
  return -1;
}

/* n THPs of a fresh MADV_HUGEPAGE region, written; -1 after thp_fail() when the mapping fails or
 * the writes did not get THPs */
static int thp_region(const struct thp_measurement *m, struct hregion *h, size_t n) {
  if (hmap(h, n, MADV_HUGEPAGE)) return thp_fail(m, "not measured: no THPs", "mmap/madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
  for (size_t i = 0; i < n; i++) h->p[i * HPAGE + 64] = 1;
  long kb = anon_huge_kb_in(h->p, n * HPAGE);
  if (kb != (long)(n * 2048))
    return thp_fail(m, "not measured: no THPs", "the writes mapped %ld kB of AnonHugePages, not %zu: THP allocation fell back to 4 KiB pages; no price recorded", kb, n * 2048);
  return 0;
}

/* thp_reps() passes, each on fresh regions, then both measurements' samples; a failed pass ends
 * the measurement (its errors printed instead of samples) */
static void thp_measure(struct thp_measurement *m) {
  const char *why = m->unavailable ? m->unavailable() : NULL;
  if (why) {
    thp_fail(m, why, "%s", why);
    return;
  }
  int reps = thp_reps();
  double s[MAX_SAMPLES], s2[MAX_SAMPLES];
  m->error2[0] = 0;
  for (int r = 0; r < reps; r++) {
    struct hregion h[2] = {{0}, {0}};
    int rc = m->thps && thp_region(m, &h[0], m->n) ? -1 : m->pass(m, h, m->n, &s[r], &s2[r]);
    hunmap(&h[0]);
    hunmap(&h[1]);
    if (rc) return;
  }
  emit_samples(m->name, m->unit, s, reps, m->what);
  if (!m->name2) return;
  if (m->error2[0]) emit_error(m->name2, m->what2, "%s", m->error2);
  else emit_samples(m->name2, m->unit2, s2, reps, m->what2);
}

/* The calls thp_split_* and thp_free_* time on one 4 KiB page. */
enum thp_call { CALL_MPROTECT_RO, CALL_MADV_FREE };

static inline int thp_call(enum thp_call call, char *page) { return call == CALL_MADV_FREE ? madvise(page, PAGE, MADV_FREE) : mprotect(page, PAGE, PROT_READ); }

/* `call` on page 256 of each of the n ranges of the THP region p and of the 4 KiB-mapped region
 * base, alternating so both see the host in the same state; the cycles of each summed into *t_thp
 * and *t_base. Returns the calls' results or'ed together (errno says why one failed). */
static int thp_alternate(enum thp_call call, char *p, char *base, size_t n, double *t_thp, double *t_base) {
  int rc = 0;
  *t_thp = *t_base = 0;
  for (size_t i = 0; i < n; i++) {
    double t0 = cpu_cycles();
    rc |= thp_call(call, p + i * HPAGE + 256 * PAGE);
    double t1 = cpu_cycles();
    rc |= thp_call(call, base + i * HPAGE + 256 * PAGE);
    double t2 = cpu_cycles();
    *t_thp += t1 - t0;
    *t_base += t2 - t1;
  }
  return rc;
}

/* why a measurement cannot run on this host (thp_measurement.unavailable), or NULL */
static const char *thp_zero_page_unavailable(void) {
  if (g_thp_zero_page == 1) return NULL;
  return g_thp_zero_page == 0 ? "transparent_hugepage/use_zero_page is 0: a read fault allocates a THP" : "cannot read transparent_hugepage/use_zero_page";
}

static const char *thp_unavailable(void) {
  thp_read_settings();
  return g_thp_why;
}

/* ---------- the passes ---------- */

/* thp_fault and thp_clear_user */
static int thp_fault_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *c) {
  if (hmap(&h[0], n, MADV_HUGEPAGE)) return thp_fail(m, "not measured: thp_fault failed", "mmap/madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
  char *p = h[0].p;
  double t0 = cpu_cycles();
  for (size_t i = 0; i < n; i++) p[i * HPAGE + 64] = 1;
  *s = (cpu_cycles() - t0) / (double)n;
  long kb = anon_huge_kb_in(p, n * HPAGE);
  if (kb != (long)(n * 2048))
    return thp_fail(m, "not measured: thp_fault got no THP",
                    "the writes mapped %ld kB of AnonHugePages, not %zu: THP allocation fell back to 4 KiB pages (memory fragmented, or defrag/khugepaged settings); no price recorded", kb, n * 2048);
  t0 = cpu_cycles();
  for (size_t i = 0; i < n; i++) clear_2m(p + i * HPAGE);
  *c = (cpu_cycles() - t0) / (double)n;
  return 0;
}

/* 16 ranges, 32 MiB: more than this core's share of the LLC */
static struct thp_measurement THP_FAULT = {.name = "thp_fault", .unit = "fault", .what = "first write to a 2 MiB-aligned MADV_HUGEPAGE range (do_huge_pmd_anonymous_page: order-9 allocation, 2 MiB zeroed, PMD mapped), per fault",
    .name2 = "thp_clear_user", .unit2 = "page", .what2 = "user-space rep stosb over 2 MiB of a THP (512 x 4 KiB, as clear_page_erms), after the kernel zeroed all 32 MiB of the region, per 2 MiB",
    .n = 16, .pass = thp_fault_pass};

/* thp_zero_read_fault and thp_zero_wp_fault */
static int thp_zero_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *w) {
  if (hmap(&h[0], n, MADV_HUGEPAGE)) return thp_fail(m, "not measured: thp_zero_read_fault failed", "mmap/madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
  char *p = h[0].p;
  uint64_t sum = 0;
  double t0 = cpu_cycles();
  for (size_t i = 0; i < n; i++) sum += (unsigned char)p[i * HPAGE + 64];
  *s = (cpu_cycles() - t0) / (double)n;
  /* the other 511 pages of each range must not fault: a PMD maps them (the huge zero page is
   * not anonymous memory, so AnonHugePages must stay 0) */
  long f0 = minor_faults();
  for (size_t i = 0; i < n; i++) sum += read_pages(p + i * HPAGE + PAGE, HPAGE_PAGES - 1, 0);
  long extra = minor_faults() - f0, kb = anon_huge_kb_in(p, n * HPAGE);
  g_sink += sum;
  if (extra != 0 || kb != 0)
    return thp_fail(m, "not measured: no huge zero page", "the reads did not map the huge zero page (%ld more faults reading the rest of the ranges, %ld kB AnonHugePages); no price recorded", extra, kb);
  t0 = cpu_cycles();
  for (size_t i = 0; i < n; i++) p[i * HPAGE + 64] = 1;
  *w = (cpu_cycles() - t0) / (double)n;
  /* the read fault is still measured when the write took another path */
  kb = anon_huge_kb_in(p, n * HPAGE);
  if (kb != (long)(n * 2048))
    snprintf(m->error2, sizeof m->error2,
             "the writes left %ld kB of AnonHugePages, not %zu: the kernel split the huge zero PMD (before 6.13) or fell back, not the do_huge_zero_wp_pmd path; no price recorded", kb, n * 2048);
  return 0;
}

/* 16 ranges, 32 MiB: more than this core's share of the LLC */
static struct thp_measurement THP_ZERO = {.name = "thp_zero_read_fault", .unit = "fault", .what = "first read of a 2 MiB-aligned MADV_HUGEPAGE range (the huge zero page mapped by a PMD), per fault",
    .name2 = "thp_zero_wp_fault", .unit2 = "fault", .what2 = "first write to a huge-zero-page PMD (6.13+ do_huge_zero_wp_pmd: a new THP, 2 MiB zeroed, the zero PMD flushed), per fault",
    .n = 16, .pass = thp_zero_pass, .unavailable = thp_zero_page_unavailable};

/* thp_cow_fault: a write to a THP that a live forked child shares */
static int thp_cow_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *unused) {
  (void)unused;
  int fds[2];
  if (hmap(&h[0], n, MADV_HUGEPAGE) || pipe(fds)) return thp_fail(m, NULL, "mmap/madvise/pipe failed: %s", strerror(errno));
  char *p = h[0].p;
  for (size_t i = 0; i < n; i++) p[i * HPAGE + 64] = 1;
  long kb = anon_huge_kb_in(p, n * HPAGE);
  if (kb != (long)(n * 2048)) return thp_fail(m, NULL, "the first writes mapped %ld kB of AnonHugePages, not %zu: no THP to share; no price recorded", kb, n * 2048);
  pid_t pid = fork();
  if (pid < 0) return thp_fail(m, NULL, "fork failed: %s", strerror(errno));
  if (pid == 0) {
    char ch;
    close(fds[1]);
    (void)!read(fds[0], &ch, 1);
    _exit(0);
  }
  close(fds[0]);
  long f0 = minor_faults();
  double t0 = cpu_cycles();
  for (size_t i = 0; i < n; i++) p[i * HPAGE + 7 * PAGE + 64] = 2;
  *s = (cpu_cycles() - t0) / (double)n;
  long faults = minor_faults() - f0;
  kb = anon_huge_kb_in(p, n * HPAGE);
  close(fds[1]);
  waitpid(pid, NULL, 0);
  /* the split leaves no PMD in the parent; a reused or copied THP would still be PMD-mapped
   * (the fault count can exceed n by the CoW of the probe's own stack page after fork) */
  if (kb != 0 || faults < (long)n)
    return thp_fail(m, NULL, "after the writes the parent maps %ld kB of AnonHugePages (%ld faults for %zu writes): not the split-and-fall-back path (the kernel copied or reused the whole THP); no price recorded", kb, faults, n);
  return 0;
}

static struct thp_measurement THP_COW = {.name = "thp_cow_fault", .unit = "fault", .what = "write to a THP shared with a live forked child (do_huge_pmd_wp_page: PMD split, fall back to wp_page_copy of 4 KiB), per fault",
    .n = 8, .pass = thp_cow_pass};

/* thp_split_mprotect and thp_split_base: mprotect of one page inside each 2 MiB range */
static int thp_split_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *b) {
  if (hmap(&h[0], n, MADV_HUGEPAGE) || hmap(&h[1], n, MADV_NOHUGEPAGE)) return thp_fail(m, "not measured: mmap failed", "mmap/madvise failed: %s", strerror(errno));
  char *p = h[0].p, *base = h[1].p;
  for (size_t i = 0; i < n; i++) p[i * HPAGE + 64] = 1;
  write_pages(base, n * HPAGE_PAGES, 64);
  long kb = anon_huge_kb_in(p, n * HPAGE), kb_base = anon_huge_kb_in(base, n * HPAGE);
  if (kb != (long)(n * 2048) || kb_base != 0)
    return thp_fail(m, "not measured: no THP to compare with", "%ld kB of AnonHugePages in the THP range (want %zu) and %ld in the 4 KiB range (want 0); no price recorded", kb, n * 2048, kb_base);
  double t_thp, t_base;
  int rc = thp_alternate(CALL_MPROTECT_RO, p, base, n, &t_thp, &t_base);
  kb = anon_huge_kb_in(p, n * HPAGE);
  if (rc) return thp_fail(m, "mprotect failed", "mprotect failed: %s", strerror(errno));
  if (kb != 0) return thp_fail(m, "not measured: no split to compare with", "%ld kB of AnonHugePages left after the mprotect calls: the PMDs were not split; no price recorded", kb);
  *s = t_thp / (double)n;
  *b = t_base / (double)n;
  return 0;
}

static struct thp_measurement THP_SPLIT = {.name = "thp_split_mprotect", .unit = "call", .what = "mprotect(PROT_READ) of one 4 KiB page inside a THP (VMA split, __split_huge_pmd, 1 PTE changed), per call",
    .name2 = "thp_split_base", .unit2 = "call", .what2 = "mprotect(PROT_READ) of one 4 KiB page inside a 4 KiB-mapped 2 MiB range (VMA split, 1 PTE changed), per call",
    .n = 8, .pass = thp_split_pass};

/* thp_collapse and thp_copy_user */
static int thp_collapse_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *c) {
  /* 4 KiB PTEs first (NOHUGEPAGE while writing), then MADV_HUGEPAGE: MADV_COLLAPSE refuses a
   * VM_NOHUGEPAGE VMA */
  if (hmap(&h[0], n, MADV_NOHUGEPAGE) || hmap(&h[1], n, MADV_HUGEPAGE)) return thp_fail(m, "not measured: mmap failed", "mmap/madvise failed: %s", strerror(errno));
  char *p = h[0].p, *dst = h[1].p;
  write_pages(p, n * HPAGE_PAGES, 64);
  for (size_t i = 0; i < n; i++) dst[i * HPAGE + 64] = 1;
  long kb0 = anon_huge_kb_in(p, n * HPAGE), kbd = anon_huge_kb_in(dst, n * HPAGE);
  if (madvise(p, n * HPAGE, MADV_HUGEPAGE) || kb0 != 0 || kbd != (long)(n * 2048))
    return thp_fail(m, "not measured: no THP copy target", "setup: %ld kB AnonHugePages before the collapse (want 0), %ld in the copy target (want %zu); no price recorded", kb0, kbd, n * 2048);
  double t = 0;
  for (size_t i = 0; i < n; i++) {
    double t0 = cpu_cycles();
    int rc = madvise(p + i * HPAGE, HPAGE, MADV_COLLAPSE);
    t += cpu_cycles() - t0;
    if (rc && errno == EINVAL) return thp_fail(m, "not measured: the collapse failed", "MADV_COLLAPSE: %s (it needs Linux 6.1+)", strerror(errno));
    if (rc) return thp_fail(m, "not measured: the collapse failed", "MADV_COLLAPSE failed: %s (the kernel could not allocate or isolate); no price recorded", strerror(errno));
  }
  *s = t / (double)n;
  long kb = anon_huge_kb_in(p, n * HPAGE);
  if (kb != (long)(n * 2048)) return thp_fail(m, "not measured: the collapse did not map THPs", "MADV_COLLAPSE returned 0 but %ld kB of AnonHugePages are mapped, not %zu; no price recorded", kb, n * 2048);
  double t0 = cpu_cycles();
  for (size_t i = 0; i < n; i++) copy_2m(dst + i * HPAGE, p + i * HPAGE);
  *c = (cpu_cycles() - t0) / (double)n;
  return 0;
}

static struct thp_measurement THP_COLLAPSE = {.name = "thp_collapse", .unit = "call", .what = "madvise(MADV_COLLAPSE) of one 2 MiB range of 512 present 4 KiB PTEs (collapse_huge_page: new THP, 2 MiB copied, PTE table freed, range flushed), per call",
    .name2 = "thp_copy_user", .unit2 = "page", .what2 = "user-space rep movsb of 2 MiB (512 x 4 KiB, as copy_page) from a collapsed THP into another THP, per 2 MiB",
    .n = 4, .pass = thp_collapse_pass};

/* thp_free_partial and thp_free_base: MADV_FREE of one page inside each 2 MiB range */
static int thp_free_partial_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *b) {
  char *p = h[0].p;
  /* every page non-zero: from 6.12 a split maps zero-filled subpages to the shared zero page
   * (checking each for zeros), which would make this a different path */
  write_pages(p, n * HPAGE_PAGES, 64);
  if (hmap(&h[1], n, MADV_NOHUGEPAGE)) return thp_fail(m, "mmap failed", "mmap failed: %s", strerror(errno));
  char *base = h[1].p;
  write_pages(base, n * HPAGE_PAGES, 64);
  long split0 = vmstat("thp_split_page");
  double t_thp, t_base;
  int rc = thp_alternate(CALL_MADV_FREE, p, base, n, &t_thp, &t_base);
  long splits = vmstat("thp_split_page") - split0;
  long kb = anon_huge_kb_in(p, n * HPAGE);
  if (rc) return thp_fail(m, "madvise failed", "madvise(MADV_FREE) failed: %s", strerror(errno));
  if (kb != 0 || (split0 >= 0 && splits < (long)n))
    return thp_fail(m, "not measured: no split to compare with", "after the calls %ld kB of AnonHugePages are mapped (want 0) and thp_split_page grew by %ld (want >= %zu): the folios were not split; no price recorded", kb, splits, n);
  *s = t_thp / (double)n;
  *b = t_base / (double)n;
  return 0;
}

static struct thp_measurement THP_FREE_PARTIAL = {.name = "thp_free_partial", .unit = "call", .what = "madvise(MADV_FREE) of one 4 KiB page inside a THP (split_folio: PMD split and 512 order-0 folios, then 1 PTE), per call",
    .name2 = "thp_free_base", .unit2 = "call", .what2 = "madvise(MADV_FREE) of one 4 KiB page inside a 4 KiB-mapped 2 MiB range, per call",
    .n = 8, .thps = 1, .pass = thp_free_partial_pass};

/* thp_wp_reuse_fault: the child is gone, so the PMD's folio has one reference again */
static int thp_wp_reuse_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *unused) {
  (void)unused;
  char *p = h[0].p;
  pid_t pid = fork();
  if (pid < 0) return thp_fail(m, NULL, "fork failed: %s", strerror(errno));
  if (pid == 0) _exit(0);
  waitpid(pid, NULL, 0);
  long f0 = minor_faults();
  double t0 = cpu_cycles();
  for (size_t i = 0; i < n; i++) p[i * HPAGE + 7 * PAGE + 64] = 2;
  *s = (cpu_cycles() - t0) / (double)n;
  long faults = minor_faults() - f0;
  long kb = anon_huge_kb_in(p, n * HPAGE);
  if (kb != (long)(n * 2048) || faults < (long)n)
    return thp_fail(m, NULL, "after the writes %ld kB of AnonHugePages are mapped (want %zu) after %ld faults (want >= %zu): not the reuse path; no price recorded", kb, n * 2048, faults, n);
  return 0;
}

static struct thp_measurement THP_WP_REUSE = {.name = "thp_wp_reuse_fault", .unit = "fault", .what = "write to a THP after fork and the child's exit (do_huge_pmd_wp_page reuses the folio: PMD made writable in place), per fault",
    .n = 8, .thps = 1, .pass = thp_wp_reuse_pass};

/* thp_mprotect_whole and thp_zap: one call over n whole THPs */
static int thp_whole_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *z) {
  char *p = h[0].p;
  double t0 = cpu_cycles();
  int rc = mprotect(p, n * HPAGE, PROT_READ);
  *s = cpu_cycles() - t0;
  long kb_ro = anon_huge_kb_in(p, n * HPAGE);
  rc |= mprotect(p, n * HPAGE, PROT_READ | PROT_WRITE);
  t0 = cpu_cycles();
  rc |= madvise(p, n * HPAGE, MADV_DONTNEED);
  *z = cpu_cycles() - t0;
  long kb = anon_huge_kb_in(p, n * HPAGE);
  if (rc) return thp_fail(m, "mprotect/madvise failed", "mprotect/madvise failed: %s", strerror(errno));
  if (kb_ro != (long)(n * 2048) || kb != 0)
    return thp_fail(m, "not measured: the THPs did not stay whole", "%ld kB of AnonHugePages after the mprotect (want %zu: no split) and %ld after MADV_DONTNEED (want 0); no price recorded", kb_ro, n * 2048, kb);
  return 0;
}

static struct thp_measurement THP_WHOLE = {.name = "thp_mprotect_whole", .unit = "call", .what = "mprotect(PROT_READ) of 16 whole THPs in one call (change_huge_pmd on each, no split), per call",
    .name2 = "thp_zap", .unit2 = "call", .what2 = "madvise(MADV_DONTNEED) of 16 whole THPs in one call (zap_huge_pmd on each, the folios freed), per call",
    .n = 16, .thps = 1, .pass = thp_whole_pass};

/* thp_fork and thp_fork_base: the parent's side of fork(), with n THPs mapped, then without them */
static int thp_fork_pass(struct thp_measurement *m, struct hregion h[2], size_t n, double *s, double *b) {
  (void)n; /* the THPs are mapped already (thps) */
  for (int k = 0; k < 2; k++) {
    double t0 = cpu_cycles();
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    double t1 = cpu_cycles();
    if (pid < 0) return thp_fail(m, "fork failed", "fork failed: %s", strerror(errno));
    waitpid(pid, NULL, 0);
    if (k == 0) {
      *s = t1 - t0;
      hunmap(&h[0]);
    } else *b = t1 - t0;
  }
  return 0;
}

/* Run early, while the probe has few other PTEs to copy (as fork_call): later the rest of the fork
 * is millions of cycles, and its noise hides the PMDs. 64 THPs: the difference must stand out of
 * the noise of the rest of the fork (the probe's other PTEs), which is as large as 16 PMDs cost. */
static struct thp_measurement THP_FORK = {.name = "thp_fork", .unit = "call", .what = "fork() with 64 THPs mapped (copy_huge_pmd on each), parent side, per call",
    .name2 = "thp_fork_base", .unit2 = "call", .what2 = "fork() of the same process without them, parent side, per call",
    .n = 64, .thps = 1, .pass = thp_fork_pass, .unavailable = thp_unavailable};

/* ---------- host page size under nested paging ---------- */

/*
 * A guest's 2 MiB page reaches the TLB as one 2 MiB entry only if the host maps that guest memory
 * with pages of 2 MiB or more: a nested translation is cached at most at the smaller of the two
 * page sizes, so on 4 KiB host pages the guest THP is "splintered" into 4 KiB entries (Pham et al.,
 * MICRO 2015). The guest cannot read the host's mapping; it can time it. A dependent pointer chase
 * over HOSTPAGE_PAGES pages, one cache line per page, in one random page order, over
 *   hostpage_thp      pages of one PMD-mapped THP (checked in smaps, as the THP paths are),
 *   hostpage_4k       4 KiB-mapped pages (MADV_NOHUGEPAGE), faulted in random order so that their
 *                     frames are not contiguous (a CPU that coalesces contiguous 4 KiB translations
 *                     would otherwise narrow the gap this measurement needs),
 *   hostpage_compact  the same number of lines packed 64 to a page (HOSTPAGE_PAGES / 64 pages):
 *                     the data-cache cost of the chase with no TLB misses.
 * The lines (16 KiB) fit in L1d/L2 in all three, so the 4 KiB chase costs more than the compact one
 * by an L1 dTLB miss per access (STLB hit). A THP chase as cheap as the compact one means one
 * 2 MiB entry, i.e. host pages of 2 MiB or more; as dear as the 4 KiB chase, 4 KiB host pages
 * (measured on the Zen 3 KVM guest with native/experiments/tlb-coalesce.c: 8.3 vs 3.0 TSC cycles
 * at 128-512 pages). src/cost/calibrate-host-page.ts gives the verdict; the probe only measures.
 * Layouts are timed interleaved in each repetition, so machine noise hits them alike; each
 * sample is one pass (TSC cycles per access, rdtsc: a pass is ~0.1 ms, shorter than a tick).
 */
#define HOSTPAGE_PAGES 256 /* past a 64-96-entry L1 dTLB, inside one 2 MiB page */
#define HOSTPAGE_STEPS (64 * HOSTPAGE_PAGES)
#define HOSTPAGE_LAYOUTS 3

/* the line a page's pointer sits in: varies by page, so the lines spread over the L1d sets */
static size_t hostpage_line(size_t page) { return (page * 37) % 64; }

/* Link the slots (one per page, in page order) into one cycle in the order `perm`. */
static void hostpage_link(char **slot, const uint32_t *perm) {
  for (size_t i = 0; i < HOSTPAGE_PAGES; i++) *(char **)slot[perm[i]] = slot[perm[(i + 1) % HOSTPAGE_PAGES]];
}

/* One pass: TSC cycles per access of HOSTPAGE_STEPS dependent loads, after a warming lap (the
 * TLB entries and lines of the cycle loaded). */
static double hostpage_pass(char *start) {
  char *q = start;
  for (size_t i = 0; i < 2 * HOSTPAGE_PAGES; i++) q = *(char **)q;
  uint64_t t0 = ptl_tsc_begin();
  for (size_t i = 0; i < HOSTPAGE_STEPS; i++) q = *(char **)q;
  uint64_t t1 = ptl_tsc_end();
  g_sink += (uintptr_t)q;
  return (double)(t1 - t0) / HOSTPAGE_STEPS;
}

static void measure_host_page(void) {
  static const char *const name[HOSTPAGE_LAYOUTS] = {"hostpage_thp", "hostpage_4k", "hostpage_compact"};
  static const char *const what[HOSTPAGE_LAYOUTS] = {
      "dependent chase over 256 pages of one PMD-mapped THP, one line per page, random page order, per access (one 2 MiB TLB entry, or 4 KiB entries on 4 KiB host pages)",
      "the same chase over 256 4 KiB-mapped pages faulted in random order, per access (an L1 dTLB miss each)",
      "the same 256 lines packed into 4 pages, per access (the chase without TLB misses)"};
  const char *why = thp_unavailable();
  struct hregion h = {0};
  char *base[HOSTPAGE_LAYOUTS] = {NULL, NULL, NULL};
  char *slot[HOSTPAGE_LAYOUTS][HOSTPAGE_PAGES];
  uint32_t perm[HOSTPAGE_PAGES];
  static char err[200];
  random_perm(perm, HOSTPAGE_PAGES);
  if (!why) {
    if (hmap(&h, 1, MADV_HUGEPAGE)) {
      snprintf(err, sizeof err, "mmap/madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
      why = err;
    } else {
      h.p[64] = 1; /* the first write faults the whole THP (do_huge_pmd_anonymous_page) */
      long kb = anon_huge_kb_in(h.p, HPAGE);
      if (kb == 2048) base[0] = h.p;
      else {
        snprintf(err, sizeof err, "the write mapped %ld kB of AnonHugePages, not 2048: THP allocation fell back to 4 KiB pages; no THP to chase", kb);
        why = err;
      }
    }
  }
  base[1] = map_region(HOSTPAGE_PAGES);
  base[2] = map_region(HOSTPAGE_PAGES / 64);
  if (!base[1] || !base[2]) {
    for (int k = 0; k < HOSTPAGE_LAYOUTS; k++) emit_error(name[k], what[k], "mmap failed: %s", strerror(errno));
    hunmap(&h);
    return;
  }
  for (size_t i = 0; i < HOSTPAGE_PAGES; i++) base[1][(size_t)perm[i] * PAGE] = 1; /* random fault order: scattered frames */
  write_pages(base[2], HOSTPAGE_PAGES / 64, 0);
  for (size_t i = 0; i < HOSTPAGE_PAGES; i++) {
    if (base[0]) slot[0][i] = base[0] + i * PAGE + hostpage_line(i) * 64;
    slot[1][i] = base[1] + i * PAGE + hostpage_line(i) * 64;
    slot[2][i] = base[2] + i * 64;
  }
  for (int k = 0; k < HOSTPAGE_LAYOUTS; k++)
    if (base[k]) hostpage_link(slot[k], perm);
  /* at least 11 passes: each is short, and the verdict compares medians */
  int reps = g_reps < 11 ? 11 : g_reps > MAX_SAMPLES ? MAX_SAMPLES : g_reps;
  static double s[HOSTPAGE_LAYOUTS][MAX_SAMPLES];
  for (int r = 0; r < reps; r++)
    for (int k = 0; k < HOSTPAGE_LAYOUTS; k++)
      if (base[k]) s[k][r] = hostpage_pass(slot[k][perm[0]]);
  /* still PMD-mapped after the passes (nothing split it meanwhile) */
  if (base[0] && anon_huge_kb_in(h.p, HPAGE) != 2048) {
    why = "the THP was no longer PMD-mapped after the passes (split or reclaimed meanwhile); re-run on an idle host";
    base[0] = NULL;
  }
  for (int k = 0; k < HOSTPAGE_LAYOUTS; k++) {
    if (base[k]) emit_samples(name[k], "access", s[k], reps, what[k]);
    else emit_error(name[k], what[k], "%s", why);
  }
  hunmap(&h);
  munmap(base[1], HOSTPAGE_PAGES * PAGE);
  munmap(base[2], HOSTPAGE_PAGES / 64 * PAGE);
}

/* ---------- the measurements ---------- */

/* The measurements after THP_FORK, in the order they run */
static struct thp_measurement *const THP_MEASUREMENTS[] = {&THP_FAULT, &THP_ZERO, &THP_COW, &THP_SPLIT, &THP_COLLAPSE, &THP_WP_REUSE, &THP_WHOLE, &THP_FREE_PARTIAL};

static void measure_thp_fork(void) { thp_measure(&THP_FORK); }

static void measure_thp(void) {
  const size_t count = sizeof THP_MEASUREMENTS / sizeof *THP_MEASUREMENTS;
  if (thp_unavailable()) {
    for (size_t i = 0; i < count; i++) {
      emit_error(THP_MEASUREMENTS[i]->name, "transparent huge pages", "%s", g_thp_why);
      if (THP_MEASUREMENTS[i]->name2) emit_error(THP_MEASUREMENTS[i]->name2, "transparent huge pages", "%s", g_thp_why);
    }
    return;
  }
  for (size_t i = 0; i < count; i++) thp_measure(THP_MEASUREMENTS[i]);
}
