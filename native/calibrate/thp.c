/*
 * Transparent huge pages: the PMD-level fault, split and collapse paths, measured on this host.
 * Included by probe.c (its helpers: cpu_cycles, emit_samples, emit_error, g_reps); written
 * for ptlab (MIT), no kernel code copied. Kernel paths as read in mm/huge_memory.c and
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

/* n 2 MiB-aligned huge ranges with `advice` (MADV_HUGEPAGE or MADV_NOHUGEPAGE) */
struct hregion {
  char *raw, *p;
  size_t rawlen, n;
};

static int hmap(struct hregion *h, size_t n, int advice) {
  h->n = n;
  h->rawlen = (n + 1) * HPAGE;
  h->raw = mmap(NULL, h->rawlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (h->raw == MAP_FAILED) return -1;
  h->p = (char *)(((uintptr_t)h->raw + HPAGE - 1) & ~(HPAGE - 1));
  if (madvise(h->p, n * HPAGE, advice)) {
    munmap(h->raw, h->rawlen);
    return -1;
  }
  return 0;
}

static void hunmap(struct hregion *h) { munmap(h->raw, h->rawlen); }

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

/* names of the measurements below, for the "not measured" errors */
static const char *const THP_NAMES[] = {"thp_fault",       "thp_clear_user",     "thp_zero_read_fault", "thp_zero_wp_fault", "thp_cow_fault",
                                        "thp_split_mprotect", "thp_split_base", "thp_collapse",        "thp_copy_user",     "thp_wp_reuse_fault",
                                        "thp_mprotect_whole", "thp_zap",        "thp_free_partial",    "thp_free_base"};

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

/* n THPs of a fresh MADV_HUGEPAGE region, written; -1 with errno when the mapping fails, -2 when
 * the writes did not get THPs (AnonHugePages in *kb) */
static int thp_region(struct hregion *h, size_t n, long *kb) {
  if (hmap(h, n, MADV_HUGEPAGE)) return -1;
  for (size_t i = 0; i < n; i++) h->p[i * HPAGE + 64] = 1;
  *kb = anon_huge_kb_in(h->p, n * HPAGE);
  if (*kb != (long)(n * 2048)) {
    hunmap(h);
    return -2;
  }
  return 0;
}

/* the error of a failed thp_region() */
static void thp_region_error(const char *name, const char *what, int rc, long kb, size_t n) {
  if (rc == -1) emit_error(name, what, "mmap/madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
  else emit_error(name, what, "the writes mapped %ld kB of AnonHugePages, not %zu: THP allocation fell back to 4 KiB pages; no price recorded", kb, n * 2048);
}

/* thp_fault and thp_clear_user */
static void measure_thp_fault(void) {
  const char *what = "first write to a 2 MiB-aligned MADV_HUGEPAGE range (do_huge_pmd_anonymous_page: order-9 allocation, 2 MiB zeroed, PMD mapped), per fault";
  const char *what_clear = "user-space rep stosb over 2 MiB of a THP (512 x 4 KiB, as clear_page_erms), after the kernel zeroed all 32 MiB of the region, per 2 MiB";
  size_t n = 16; /* 32 MiB: more than this core's share of the LLC */
  int reps = thp_reps();
  double s[MAX_SAMPLES], c[MAX_SAMPLES];
  for (int r = 0; r < reps; r++) {
    struct hregion h;
    if (hmap(&h, n, MADV_HUGEPAGE)) {
      emit_error("thp_fault", what, "mmap/madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
      emit_error("thp_clear_user", what_clear, "not measured: thp_fault failed");
      return;
    }
    double t0 = cpu_cycles();
    for (size_t i = 0; i < n; i++) h.p[i * HPAGE + 64] = 1;
    s[r] = (cpu_cycles() - t0) / (double)n;
    long kb = anon_huge_kb_in(h.p, n * HPAGE);
    if (kb != (long)(n * 2048)) {
      hunmap(&h);
      emit_error("thp_fault", what, "the writes mapped %ld kB of AnonHugePages, not %zu: THP allocation fell back to 4 KiB pages (memory fragmented, or defrag/khugepaged settings); no price recorded", kb, n * 2048);
      emit_error("thp_clear_user", what_clear, "not measured: thp_fault got no THP");
      return;
    }
    t0 = cpu_cycles();
    for (size_t i = 0; i < n; i++) clear_2m(h.p + i * HPAGE);
    c[r] = (cpu_cycles() - t0) / (double)n;
    hunmap(&h);
  }
  emit_samples("thp_fault", "fault", s, reps, what);
  emit_samples("thp_clear_user", "page", c, reps, what_clear);
}

/* thp_zero_read_fault and thp_zero_wp_fault */
static void measure_thp_zero(void) {
  const char *what = "first read of a 2 MiB-aligned MADV_HUGEPAGE range (the huge zero page mapped by a PMD), per fault";
  const char *what_wp = "first write to a huge-zero-page PMD (6.13+ do_huge_zero_wp_pmd: a new THP, 2 MiB zeroed, the zero PMD flushed), per fault";
  if (g_thp_zero_page != 1) {
    const char *why = g_thp_zero_page == 0 ? "transparent_hugepage/use_zero_page is 0: a read fault allocates a THP" : "cannot read transparent_hugepage/use_zero_page";
    emit_error("thp_zero_read_fault", what, "%s", why);
    emit_error("thp_zero_wp_fault", what_wp, "%s", why);
    return;
  }
  size_t n = 16; /* 32 MiB: more than this core's share of the LLC */
  int reps = thp_reps();
  double s[MAX_SAMPLES], w[MAX_SAMPLES];
  const char *wp_error = NULL;
  long wp_kb = 0;
  for (int r = 0; r < reps; r++) {
    struct hregion h;
    if (hmap(&h, n, MADV_HUGEPAGE)) {
      emit_error("thp_zero_read_fault", what, "mmap/madvise(MADV_HUGEPAGE) failed: %s", strerror(errno));
      emit_error("thp_zero_wp_fault", what_wp, "not measured: thp_zero_read_fault failed");
      return;
    }
    uint64_t sum = 0;
    double t0 = cpu_cycles();
    for (size_t i = 0; i < n; i++) sum += (unsigned char)h.p[i * HPAGE + 64];
    s[r] = (cpu_cycles() - t0) / (double)n;
    /* the other 511 pages of each range must not fault: a PMD maps them (the huge zero page is
     * not anonymous memory, so AnonHugePages must stay 0) */
    long f0 = minor_faults();
    for (size_t i = 0; i < n; i++) sum += read_pages(h.p + i * HPAGE + PAGE, HPAGE_PAGES - 1, 0);
    long extra = minor_faults() - f0, kb = anon_huge_kb_in(h.p, n * HPAGE);
    g_sink += sum;
    if (extra != 0 || kb != 0) {
      hunmap(&h);
      emit_error("thp_zero_read_fault", what, "the reads did not map the huge zero page (%ld more faults reading the rest of the ranges, %ld kB AnonHugePages); no price recorded", extra, kb);
      emit_error("thp_zero_wp_fault", what_wp, "not measured: no huge zero page");
      return;
    }
    t0 = cpu_cycles();
    for (size_t i = 0; i < n; i++) h.p[i * HPAGE + 64] = 1;
    w[r] = (cpu_cycles() - t0) / (double)n;
    wp_kb = anon_huge_kb_in(h.p, n * HPAGE);
    if (wp_kb != (long)(n * 2048)) wp_error = "split";
    hunmap(&h);
  }
  emit_samples("thp_zero_read_fault", "fault", s, reps, what);
  if (wp_error)
    emit_error("thp_zero_wp_fault", what_wp, "the writes left %ld kB of AnonHugePages, not %zu: the kernel split the huge zero PMD (before 6.13) or fell back, not the do_huge_zero_wp_pmd path; no price recorded", wp_kb, n * 2048);
  else emit_samples("thp_zero_wp_fault", "fault", w, reps, what_wp);
}

/* thp_cow_fault: a write to a THP that a live forked child shares */
static void measure_thp_cow(void) {
  const char *what = "write to a THP shared with a live forked child (do_huge_pmd_wp_page: PMD split, fall back to wp_page_copy of 4 KiB), per fault";
  size_t n = 8;
  int reps = thp_reps();
  double s[MAX_SAMPLES];
  for (int r = 0; r < reps; r++) {
    struct hregion h;
    int fds[2];
    if (hmap(&h, n, MADV_HUGEPAGE) || pipe(fds)) {
      emit_error("thp_cow_fault", what, "mmap/madvise/pipe failed: %s", strerror(errno));
      return;
    }
    for (size_t i = 0; i < n; i++) h.p[i * HPAGE + 64] = 1;
    long kb = anon_huge_kb_in(h.p, n * HPAGE);
    if (kb != (long)(n * 2048)) {
      hunmap(&h);
      emit_error("thp_cow_fault", what, "the first writes mapped %ld kB of AnonHugePages, not %zu: no THP to share; no price recorded", kb, n * 2048);
      return;
    }
    pid_t pid = fork();
    if (pid < 0) {
      hunmap(&h);
      emit_error("thp_cow_fault", what, "fork failed: %s", strerror(errno));
      return;
    }
    if (pid == 0) {
      char ch;
      close(fds[1]);
      (void)!read(fds[0], &ch, 1);
      _exit(0);
    }
    close(fds[0]);
    long f0 = minor_faults();
    double t0 = cpu_cycles();
    for (size_t i = 0; i < n; i++) h.p[i * HPAGE + 7 * PAGE + 64] = 2;
    s[r] = (cpu_cycles() - t0) / (double)n;
    long faults = minor_faults() - f0;
    kb = anon_huge_kb_in(h.p, n * HPAGE);
    close(fds[1]);
    waitpid(pid, NULL, 0);
    hunmap(&h);
    /* the split leaves no PMD in the parent; a reused or copied THP would still be PMD-mapped
     * (the fault count can exceed n by the CoW of the probe's own stack page after fork) */
    if (kb != 0 || faults < (long)n) {
      emit_error("thp_cow_fault", what, "after the writes the parent maps %ld kB of AnonHugePages (%ld faults for %zu writes): not the split-and-fall-back path (the kernel copied or reused the whole THP); no price recorded", kb, faults, n);
      return;
    }
  }
  emit_samples("thp_cow_fault", "fault", s, reps, what);
}

/* thp_split_mprotect and thp_split_base: mprotect of one page inside each 2 MiB range */
static void measure_thp_split(void) {
  const char *what = "mprotect(PROT_READ) of one 4 KiB page inside a THP (VMA split, __split_huge_pmd, 1 PTE changed), per call";
  const char *what_base = "mprotect(PROT_READ) of one 4 KiB page inside a 4 KiB-mapped 2 MiB range (VMA split, 1 PTE changed), per call";
  size_t n = 8;
  int reps = thp_reps();
  double s[MAX_SAMPLES], b[MAX_SAMPLES];
  for (int r = 0; r < reps; r++) {
    struct hregion h, base;
    if (hmap(&h, n, MADV_HUGEPAGE) || hmap(&base, n, MADV_NOHUGEPAGE)) {
      emit_error("thp_split_mprotect", what, "mmap/madvise failed: %s", strerror(errno));
      emit_error("thp_split_base", what_base, "not measured: mmap failed");
      return;
    }
    for (size_t i = 0; i < n; i++) h.p[i * HPAGE + 64] = 1;
    write_pages(base.p, n * HPAGE_PAGES, 64);
    long kb = anon_huge_kb_in(h.p, n * HPAGE), kb_base = anon_huge_kb_in(base.p, n * HPAGE);
    if (kb != (long)(n * 2048) || kb_base != 0) {
      hunmap(&h);
      hunmap(&base);
      emit_error("thp_split_mprotect", what, "%ld kB of AnonHugePages in the THP range (want %zu) and %ld in the 4 KiB range (want 0); no price recorded", kb, n * 2048, kb_base);
      emit_error("thp_split_base", what_base, "not measured: no THP to compare with");
      return;
    }
    int rc = 0;
    /* alternate the two so both see the host in the same state */
    double t_thp = 0, t_base = 0;
    for (size_t i = 0; i < n; i++) {
      double t0 = cpu_cycles();
      rc |= mprotect(h.p + i * HPAGE + 256 * PAGE, PAGE, PROT_READ);
      double t1 = cpu_cycles();
      rc |= mprotect(base.p + i * HPAGE + 256 * PAGE, PAGE, PROT_READ);
      double t2 = cpu_cycles();
      t_thp += t1 - t0;
      t_base += t2 - t1;
    }
    kb = anon_huge_kb_in(h.p, n * HPAGE);
    hunmap(&h);
    hunmap(&base);
    if (rc) {
      emit_error("thp_split_mprotect", what, "mprotect failed: %s", strerror(errno));
      emit_error("thp_split_base", what_base, "mprotect failed");
      return;
    }
    if (kb != 0) {
      emit_error("thp_split_mprotect", what, "%ld kB of AnonHugePages left after the mprotect calls: the PMDs were not split; no price recorded", kb);
      emit_error("thp_split_base", what_base, "not measured: no split to compare with");
      return;
    }
    s[r] = t_thp / (double)n;
    b[r] = t_base / (double)n;
  }
  emit_samples("thp_split_mprotect", "call", s, reps, what);
  emit_samples("thp_split_base", "call", b, reps, what_base);
}

/* thp_collapse and thp_copy_user */
static void measure_thp_collapse(void) {
  const char *what = "madvise(MADV_COLLAPSE) of one 2 MiB range of 512 present 4 KiB PTEs (collapse_huge_page: new THP, 2 MiB copied, PTE table freed, range flushed), per call";
  const char *what_copy = "user-space rep movsb of 2 MiB (512 x 4 KiB, as copy_page) from a collapsed THP into another THP, per 2 MiB";
  size_t n = 4;
  int reps = thp_reps();
  double s[MAX_SAMPLES], c[MAX_SAMPLES];
  for (int r = 0; r < reps; r++) {
    struct hregion h, dst;
    /* 4 KiB PTEs first (NOHUGEPAGE while writing), then MADV_HUGEPAGE: MADV_COLLAPSE refuses a
     * VM_NOHUGEPAGE VMA */
    if (hmap(&h, n, MADV_NOHUGEPAGE) || hmap(&dst, n, MADV_HUGEPAGE)) {
      emit_error("thp_collapse", what, "mmap/madvise failed: %s", strerror(errno));
      emit_error("thp_copy_user", what_copy, "not measured: mmap failed");
      return;
    }
    write_pages(h.p, n * HPAGE_PAGES, 64);
    for (size_t i = 0; i < n; i++) dst.p[i * HPAGE + 64] = 1;
    long kb0 = anon_huge_kb_in(h.p, n * HPAGE), kbd = anon_huge_kb_in(dst.p, n * HPAGE);
    if (madvise(h.p, n * HPAGE, MADV_HUGEPAGE) || kb0 != 0 || kbd != (long)(n * 2048)) {
      hunmap(&h);
      hunmap(&dst);
      emit_error("thp_collapse", what, "setup: %ld kB AnonHugePages before the collapse (want 0), %ld in the copy target (want %zu); no price recorded", kb0, kbd, n * 2048);
      emit_error("thp_copy_user", what_copy, "not measured: no THP copy target");
      return;
    }
    double t = 0;
    for (size_t i = 0; i < n; i++) {
      double t0 = cpu_cycles();
      int rc = madvise(h.p + i * HPAGE, HPAGE, MADV_COLLAPSE);
      t += cpu_cycles() - t0;
      if (rc) {
        int err = errno;
        hunmap(&h);
        hunmap(&dst);
        if (err == EINVAL) emit_error("thp_collapse", what, "MADV_COLLAPSE: %s (it needs Linux 6.1+)", strerror(err));
        else emit_error("thp_collapse", what, "MADV_COLLAPSE failed: %s (the kernel could not allocate or isolate); no price recorded", strerror(err));
        emit_error("thp_copy_user", what_copy, "not measured: the collapse failed");
        return;
      }
    }
    s[r] = t / (double)n;
    long kb = anon_huge_kb_in(h.p, n * HPAGE);
    if (kb != (long)(n * 2048)) {
      hunmap(&h);
      hunmap(&dst);
      emit_error("thp_collapse", what, "MADV_COLLAPSE returned 0 but %ld kB of AnonHugePages are mapped, not %zu; no price recorded", kb, n * 2048);
      emit_error("thp_copy_user", what_copy, "not measured: the collapse did not map THPs");
      return;
    }
    double t0 = cpu_cycles();
    for (size_t i = 0; i < n; i++) copy_2m(dst.p + i * HPAGE, h.p + i * HPAGE);
    c[r] = (cpu_cycles() - t0) / (double)n;
    hunmap(&h);
    hunmap(&dst);
  }
  emit_samples("thp_collapse", "call", s, reps, what);
  emit_samples("thp_copy_user", "page", c, reps, what_copy);
}

/* thp_free_partial and thp_free_base: MADV_FREE of one page inside each 2 MiB range */
static void measure_thp_free_partial(void) {
  const char *what = "madvise(MADV_FREE) of one 4 KiB page inside a THP (split_folio: PMD split and 512 order-0 folios, then 1 PTE), per call";
  const char *what_base = "madvise(MADV_FREE) of one 4 KiB page inside a 4 KiB-mapped 2 MiB range, per call";
  size_t n = 8;
  int reps = thp_reps();
  double s[MAX_SAMPLES], b[MAX_SAMPLES];
  for (int r = 0; r < reps; r++) {
    struct hregion h, base;
    long kb;
    int rc = thp_region(&h, n, &kb);
    if (rc) {
      thp_region_error("thp_free_partial", what, rc, kb, n);
      emit_error("thp_free_base", what_base, "not measured: no THPs");
      return;
    }
    /* every page non-zero: from 6.12 a split maps zero-filled subpages to the shared zero page
     * (checking each for zeros), which would make this a different path */
    write_pages(h.p, n * HPAGE_PAGES, 64);
    if (hmap(&base, n, MADV_NOHUGEPAGE)) {
      hunmap(&h);
      emit_error("thp_free_partial", what, "mmap failed: %s", strerror(errno));
      emit_error("thp_free_base", what_base, "mmap failed");
      return;
    }
    write_pages(base.p, n * HPAGE_PAGES, 64);
    long split0 = vmstat("thp_split_page");
    double t_thp = 0, t_base = 0;
    for (size_t i = 0; i < n; i++) {
      double t0 = cpu_cycles();
      rc |= madvise(h.p + i * HPAGE + 256 * PAGE, PAGE, MADV_FREE);
      double t1 = cpu_cycles();
      rc |= madvise(base.p + i * HPAGE + 256 * PAGE, PAGE, MADV_FREE);
      t_thp += t1 - t0;
      t_base += cpu_cycles() - t1;
    }
    long splits = vmstat("thp_split_page") - split0;
    kb = anon_huge_kb_in(h.p, n * HPAGE);
    hunmap(&h);
    hunmap(&base);
    if (rc) {
      emit_error("thp_free_partial", what, "madvise(MADV_FREE) failed: %s", strerror(errno));
      emit_error("thp_free_base", what_base, "madvise failed");
      return;
    }
    if (kb != 0 || (split0 >= 0 && splits < (long)n)) {
      emit_error("thp_free_partial", what, "after the calls %ld kB of AnonHugePages are mapped (want 0) and thp_split_page grew by %ld (want >= %zu): the folios were not split; no price recorded", kb, splits, n);
      emit_error("thp_free_base", what_base, "not measured: no split to compare with");
      return;
    }
    s[r] = t_thp / (double)n;
    b[r] = t_base / (double)n;
  }
  emit_samples("thp_free_partial", "call", s, reps, what);
  emit_samples("thp_free_base", "call", b, reps, what_base);
}

/* thp_wp_reuse_fault: the child is gone, so the PMD's folio has one reference again */
static void measure_thp_wp_reuse(void) {
  const char *what = "write to a THP after fork and the child's exit (do_huge_pmd_wp_page reuses the folio: PMD made writable in place), per fault";
  size_t n = 8;
  int reps = thp_reps();
  double s[MAX_SAMPLES];
  for (int r = 0; r < reps; r++) {
    struct hregion h;
    long kb;
    int rc = thp_region(&h, n, &kb);
    if (rc) {
      thp_region_error("thp_wp_reuse_fault", what, rc, kb, n);
      return;
    }
    pid_t pid = fork();
    if (pid < 0) {
      hunmap(&h);
      emit_error("thp_wp_reuse_fault", what, "fork failed: %s", strerror(errno));
      return;
    }
    if (pid == 0) _exit(0);
    waitpid(pid, NULL, 0);
    long f0 = minor_faults();
    double t0 = cpu_cycles();
    for (size_t i = 0; i < n; i++) h.p[i * HPAGE + 7 * PAGE + 64] = 2;
    s[r] = (cpu_cycles() - t0) / (double)n;
    long faults = minor_faults() - f0;
    kb = anon_huge_kb_in(h.p, n * HPAGE);
    hunmap(&h);
    if (kb != (long)(n * 2048) || faults < (long)n) {
      emit_error("thp_wp_reuse_fault", what, "after the writes %ld kB of AnonHugePages are mapped (want %zu) after %ld faults (want >= %zu): not the reuse path; no price recorded", kb, n * 2048, faults, n);
      return;
    }
  }
  emit_samples("thp_wp_reuse_fault", "fault", s, reps, what);
}

/* thp_mprotect_whole and thp_zap: one call over 16 whole THPs */
static void measure_thp_whole(void) {
  const char *what = "mprotect(PROT_READ) of 16 whole THPs in one call (change_huge_pmd on each, no split), per call";
  const char *what_zap = "madvise(MADV_DONTNEED) of 16 whole THPs in one call (zap_huge_pmd on each, the folios freed), per call";
  size_t n = 16;
  int reps = thp_reps();
  double s[MAX_SAMPLES], z[MAX_SAMPLES];
  for (int r = 0; r < reps; r++) {
    struct hregion h;
    long kb;
    int rc = thp_region(&h, n, &kb);
    if (rc) {
      thp_region_error("thp_mprotect_whole", what, rc, kb, n);
      emit_error("thp_zap", what_zap, "not measured: no THPs");
      return;
    }
    double t0 = cpu_cycles();
    rc = mprotect(h.p, n * HPAGE, PROT_READ);
    s[r] = cpu_cycles() - t0;
    long kb_ro = anon_huge_kb_in(h.p, n * HPAGE);
    rc |= mprotect(h.p, n * HPAGE, PROT_READ | PROT_WRITE);
    t0 = cpu_cycles();
    rc |= madvise(h.p, n * HPAGE, MADV_DONTNEED);
    z[r] = cpu_cycles() - t0;
    kb = anon_huge_kb_in(h.p, n * HPAGE);
    hunmap(&h);
    if (rc) {
      emit_error("thp_mprotect_whole", what, "mprotect/madvise failed: %s", strerror(errno));
      emit_error("thp_zap", what_zap, "mprotect/madvise failed");
      return;
    }
    if (kb_ro != (long)(n * 2048) || kb != 0) {
      emit_error("thp_mprotect_whole", what, "%ld kB of AnonHugePages after the mprotect (want %zu: no split) and %ld after MADV_DONTNEED (want 0); no price recorded", kb_ro, n * 2048, kb);
      emit_error("thp_zap", what_zap, "not measured: the THPs did not stay whole");
      return;
    }
  }
  emit_samples("thp_mprotect_whole", "call", s, reps, what);
  emit_samples("thp_zap", "call", z, reps, what_zap);
}

/* thp_fork and thp_fork_base: the parent's side of fork(), with 64 THPs mapped and without. Run
 * early, while the probe has few other PTEs to copy (as fork_call): later the rest of the fork is
 * millions of cycles, and its noise hides the PMDs. */
static void measure_thp_fork(void) {
  const char *what = "fork() with 64 THPs mapped (copy_huge_pmd on each), parent side, per call";
  const char *what_base = "fork() of the same process without them, parent side, per call";
  /* 64: the difference must stand out of the noise of the rest of the fork (the probe's other
   * PTEs), which is as large as 16 PMDs cost */
  size_t n = 64;
  int reps = thp_reps();
  double s[MAX_SAMPLES], b[MAX_SAMPLES];
  thp_read_settings();
  if (g_thp_why) {
    emit_error("thp_fork", what, "%s", g_thp_why);
    emit_error("thp_fork_base", what_base, "%s", g_thp_why);
    return;
  }
  for (int r = 0; r < reps; r++) {
    struct hregion h;
    long kb;
    int rc = thp_region(&h, n, &kb);
    if (rc) {
      thp_region_error("thp_fork", what, rc, kb, n);
      emit_error("thp_fork_base", what_base, "not measured: no THPs");
      return;
    }
    for (int k = 0; k < 2; k++) {
      double t0 = cpu_cycles();
      pid_t pid = fork();
      if (pid == 0) _exit(0);
      double t1 = cpu_cycles();
      if (pid < 0) {
        if (k == 0) hunmap(&h);
        emit_error("thp_fork", what, "fork failed: %s", strerror(errno));
        emit_error("thp_fork_base", what_base, "fork failed");
        return;
      }
      waitpid(pid, NULL, 0);
      if (k == 0) {
        s[r] = t1 - t0;
        hunmap(&h);
      } else b[r] = t1 - t0;
    }
  }
  emit_samples("thp_fork", "call", s, reps, what);
  emit_samples("thp_fork_base", "call", b, reps, what_base);
}

static void measure_thp(void) {
  thp_read_settings();
  if (g_thp_why) {
    for (size_t i = 0; i < sizeof THP_NAMES / sizeof *THP_NAMES; i++) emit_error(THP_NAMES[i], "transparent huge pages", "%s", g_thp_why);
    return;
  }
  measure_thp_fault();
  measure_thp_zero();
  measure_thp_cow();
  measure_thp_split();
  measure_thp_collapse();
  measure_thp_wp_reuse();
  measure_thp_whole();
  measure_thp_free_partial();
}
