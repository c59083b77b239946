/*
 * ptlab native replayer: executes a ptlab op script on real memory of this Linux kernel and
 * prints what user space can observe about each page after each step (pagemap, kpageflags,
 * smaps, PAGEMAP_SCAN) plus the step's fault counts, one JSON line per step.
 *
 * The TypeScript driver (src/fidelity/replay.ts) turns an ExperimentSpec into the line-based
 * script read from stdin; this program does no JSON parsing. Script grammar (one op per line,
 * '#' comments):
 *
 *   STEP PROCESS mmap REGION NPAGES KIND PROT FS SPLIT [THP]  KIND: anon-private anon-shared
 *                                                          file-shared file-private
 *                                                          PROT: none r rw   FS: plain mkwrite -
 *                                                          SPLIT: 1 = one VMA per page (see below)
 *                                                          THP: hugepage | nohugepage | - (madvise
 *                                                          MADV_(NO)HUGEPAGE right after mmap)
 *   STEP PROCESS munmap REGION
 *   STEP PROCESS touch REGION TOKEN...                     TOKEN: rA wA uA or rA-B (u = read+write)
 *   STEP PROCESS mprotect REGION PROT PAGES                PAGES: all | 0-15,17
 *   STEP PROCESS madvise REGION ADVICE PAGES               ADVICE: dontneed free cold pageout
 *                                                          hugepage nohugepage collapse (a failed
 *                                                          MADV_COLLAPSE is reported as "errno")
 *   STEP PROCESS fork CHILD
 *   STEP PROCESS exit                                      (a forked child exits)
 *   STEP PROCESS uffd-register REGION MODES FEATURES RESOLVE  MODES: missing,wp,minor
 *                                                          FEATURES: wp-async,wp-unpopulated | -
 *                                                          RESOLVE: copy | zeropage
 *   STEP PROCESS uffd-writeprotect REGION 0|1 PAGES
 *   STEP PROCESS uffd-copy REGION 0|1 PAGES
 *   STEP PROCESS uffd-zeropage REGION PAGES
 *   STEP PROCESS clear-refs soft-dirty|young
 *   STEP PROCESS khugepaged                                wait for two full khugepaged scans
 *                                                          (khugepaged/full_scans + 2), with
 *                                                          scan_sleep_millisecs 10 meanwhile (root)
 *   STEP PROCESS pagemap-scan REGION MODE 0|1 PAGES        MODE: written | soft-dirty; 1: and
 *                                                          write-protect the matches again
 *   STEP PROCESS writeback REGION|-                        msync(MS_SYNC) a file region (- = all)
 *   STEP PROCESS inspect REGION PAGES
 *   STEP PROCESS nop OPNAME                                (an op the model has but user space
 *                                                          cannot drive; prints faults only)
 *
 * Why SPLIT: the PTE young (A) and dirty (D) bits are not in pagemap. /proc/self/smaps reports,
 * per VMA, "Referenced" (pte_young || PG_referenced) and "Private/Shared_Dirty" (pte_dirty ||
 * PG_dirty) (fs/proc/task_mmu.c smaps_account). MADV_NOHUGEPAGE on every other page gives each
 * page its own VMA (adjacent VMAs with different vm_flags never merge), so smaps becomes a
 * per-page view; kpageflags then separates the folio flags from the PTE bits. Side effects:
 * no THP/mTHP and no file fault-around across pages (both also absent from the 4 KiB model).
 *
 * Timing: every step line carries "tsc" (TSC ticks from just before the op to just after it,
 * rdtsc brackets of native/common/timing.h) and "cpuNs" (the CPU time of all the replaying
 * process's threads over the same window: the executing thread and the userfaultfd handler threads
 * that resolve its faults; time preempted by other processes is not in it). --time pins the replayer to its first allowed CPU (threads it creates inherit that)
 * and prints the TSC rate in the header; --others busy also keeps every other allowed CPU busy
 * with a spinner process, as `ptlab calibrate` does on a VM guest. src/fidelity/timed.ts runs the
 * script several times and takes medians.
 *
 * Host settings (root; each restored at exit): "@mthp SIZE MODE" writes
 * transparent_hugepage/hugepages-SIZE/enabled, "@khugepaged KNOB VALUE" writes
 * transparent_hugepage/khugepaged/KNOB (max_ptes_none, max_ptes_swap, max_ptes_shared).
 *
 * Exit codes: 0 ok; 2 bad script; 3 refused: this kernel/host cannot do what the script asks
 * (the reason is printed as {"refuse": ...}); 4 a system call failed unexpectedly.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/timing.h"
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h> /* glibc 2.35+: __rseq_offset, __rseq_size */
#define PTL_HAVE_RSEQ 1
#endif
#include "../common/fault-sample.h"

/* Newer uapi than the build host's headers may carry (include/uapi/linux/userfaultfd.h). */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM (1 << 12)
#endif
#ifndef UFFD_FEATURE_MINOR_SHMEM
#define UFFD_FEATURE_MINOR_SHMEM (1 << 10)
#endif
#ifndef UFFD_FEATURE_MISSING_SHMEM
#define UFFD_FEATURE_MISSING_SHMEM (1 << 5)
#endif
#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#ifndef MADV_COLD
#define MADV_COLD 20
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

/* PAGEMAP_SCAN (6.7+, include/uapi/linux/fs.h), declared here under our own names. */
#define PTL_PAGEMAP_SCAN _IOWR('f', 16, struct ptl_pm_scan_arg)
#define PTL_PAGE_IS_WPALLOWED (1 << 0)
#define PTL_PAGE_IS_WRITTEN (1 << 1)
#define PTL_PAGE_IS_FILE (1 << 2)
#define PTL_PAGE_IS_PRESENT (1 << 3)
#define PTL_PAGE_IS_SWAPPED (1 << 4)
#define PTL_PAGE_IS_PFNZERO (1 << 5)
#define PTL_PAGE_IS_HUGE (1 << 6)
#define PTL_PAGE_IS_SOFT_DIRTY (1 << 7)
#define PTL_PAGE_IS_ALL 0xff
#define PTL_PM_SCAN_WP_MATCHING (1 << 0)
#define PTL_PM_SCAN_CHECK_WPASYNC (1 << 1)
struct ptl_page_region {
  uint64_t start, end, categories;
};
struct ptl_pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted, category_mask,
      category_anyof_mask, return_mask;
};

/* Documentation/admin-guide/mm/pagemap.rst */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_FILE (1ULL << 61)
#define PM_GUARD (1ULL << 58)
#define PM_UFFD_WP (1ULL << 57)
#define PM_MMAP_EXCLUSIVE (1ULL << 56)
#define PM_SOFT_DIRTY (1ULL << 55)
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define KPF_REFERENCED 2
#define KPF_DIRTY 4
#define KPF_ANON 12
#define KPF_SWAPCACHE 13
#define KPF_SWAPBACKED 14
#define KPF_ZERO_PAGE 24
#define KPF_THP 22

enum { EXIT_OK = 0, EXIT_SCRIPT = 2, EXIT_REFUSE = 3, EXIT_SYS = 4 };
enum kind { ANON_PRIVATE, ANON_SHARED, FILE_SHARED, FILE_PRIVATE };

#define MAX_REGIONS 64
#define MAX_CHILDREN 16
#define MAX_TOKENS 64

struct region {
  char name[64];
  char *addr;
  size_t npages;
  enum kind kind;
  int fd;
  int tmpfs; /* backed by shmem: anon-shared, or a file on tmpfs */
  int split;
  int uffd_resolve_zeropage;
  int uffd; /* the userfaultfd it is registered with, or -1 */
  int mapped;
};

struct child {
  char name[64];
  pid_t pid;
  int cmd_fd; /* parent -> child: step numbers */
  int ack_fd; /* child -> parent: done */
};

struct op {
  int step;
  char *process;
  char *name;
  int argc;
  char **argv;
};

static size_t page_size;
static struct region regions[MAX_REGIONS];
static int nregions;
static struct child children[MAX_CHILDREN];
static int nchildren;
static char self_name[64] = "main";
static int pagemap_fd = -1, kpageflags_fd = -1;
static int pfn_visible;       /* root: PFNs in pagemap, kpageflags readable */
static int scan_supported = -1; /* PAGEMAP_SCAN: -1 unknown */
static int soft_dirty_supported; /* CONFIG_MEM_SOFT_DIRTY: probed at startup */
static int swap_on;              /* any swap device active (/proc/swaps) */
static int zero_page_on_read;    /* does an anon read fault map the shared zero page here? */
/* One userfaultfd per distinct feature set: UFFDIO_API fixes the features of a uffd once, and
 * e.g. WP_ASYNC must not leak into a region registered without it. One handler thread each. */
#define MAX_UFFDS 8
struct uffd_ctx {
  uint64_t features;
  int fd;
  pthread_t thread;
};
static struct uffd_ctx uffds[MAX_UFFDS];
static int nuffds;
static int uffd_stop_pipe[2] = {-1, -1};
static volatile uint64_t uffd_count_missing, uffd_count_wp, uffd_count_minor, uffd_count_errors;
static char *copy_src; /* source page for UFFDIO_COPY, faulted in at startup */
static struct op *ops;
static int nops;

/* ---------------------------------------------------------------- output and errors */

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", *s);
    else
      putchar(*s);
  }
  putchar('"');
}

/* the errno name a refusal reports ("errno" in the refuse line), when the kernel refused a call */
static const char *refuse_errno;

static void __attribute__((noreturn, format(printf, 3, 4))) die(int code, int step, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  printf("{\"%s\":", code == EXIT_REFUSE ? "refuse" : "error");
  json_str(msg);
  if (refuse_errno) printf(",\"errno\":\"%s\"", refuse_errno);
  printf(",\"code\":%d,\"step\":%d,\"process\":", code, step);
  json_str(self_name);
  printf("}\n");
  fflush(stdout);
  exit(code);
}

/* ---------------------------------------------------------------- parsing helpers */

static struct region *find_region(const char *name, int step) {
  for (int i = 0; i < nregions; i++)
    if (strcmp(regions[i].name, name) == 0) return &regions[i];
  die(EXIT_SCRIPT, step, "unknown region \"%s\" (mmap it in an earlier step)", name);
}

static struct region *mapped_region(const char *name, int step) {
  struct region *r = find_region(name, step);
  if (!r->mapped) die(EXIT_SCRIPT, step, "region \"%s\" is not mapped in process %s", name, self_name);
  return r;
}

/* PAGES: "all" or "a-b,c,...". Returns a malloc'ed array of page indices. */
static size_t *parse_pages(const char *s, size_t npages, size_t *count, int step) {
  size_t cap = 64, n = 0;
  size_t *out = malloc(cap * sizeof *out);
  if (strcmp(s, "all") == 0) {
    out = realloc(out, (npages ? npages : 1) * sizeof *out);
    for (size_t i = 0; i < npages; i++) out[i] = i;
    *count = npages;
    return out;
  }
  const char *p = s;
  while (*p) {
    char *end;
    unsigned long a = strtoul(p, &end, 10), b;
    if (end == p) die(EXIT_SCRIPT, step, "bad page list \"%s\"", s);
    b = a;
    if (*end == '-') {
      p = end + 1;
      b = strtoul(p, &end, 10);
      if (end == p || b < a) die(EXIT_SCRIPT, step, "bad page range in \"%s\"", s);
    }
    if (b >= npages) die(EXIT_SCRIPT, step, "page %lu is outside the region (%zu pages)", b, npages);
    for (unsigned long i = a; i <= b; i++) {
      if (n == cap) out = realloc(out, (cap *= 2) * sizeof *out);
      out[n++] = i;
    }
    p = end;
    if (*p == ',') p++;
    else if (*p) die(EXIT_SCRIPT, step, "bad page list \"%s\"", s);
  }
  *count = n;
  return out;
}

static int parse_prot(const char *s, int step) {
  if (strcmp(s, "none") == 0) return PROT_NONE;
  if (strcmp(s, "r") == 0) return PROT_READ;
  if (strcmp(s, "rw") == 0) return PROT_READ | PROT_WRITE;
  die(EXIT_SCRIPT, step, "bad prot \"%s\" (none, r or rw)", s);
}

static int has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)); p += n)
    if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) return 1;
  return 0;
}

static void need_args(const struct op *o, int n) {
  if (o->argc < n) die(EXIT_SCRIPT, o->step, "op %s needs %d arguments, got %d", o->name, n, o->argc);
}

/* Calls fn on each maximal run of consecutive pages (one syscall per run). */
static void for_runs(const size_t *pages, size_t n, void (*fn)(size_t first, size_t count, void *ctx), void *ctx) {
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && pages[j] == pages[j - 1] + 1) j++;
    fn(pages[i], j - i, ctx);
    i = j;
  }
}

/* ---------------------------------------------------------------- host facts */

static int swap_active(void) {
  FILE *f = fopen("/proc/swaps", "r");
  char line[512];
  int n = 0;
  if (!f) return 0;
  while (fgets(line, sizeof line, f)) n++;
  fclose(f);
  return n > 1;
}

static int open_uffd(void) {
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
  if (fd >= 0) return fd;
  int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
  if (dev >= 0) {
    fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
    close(dev);
  }
  return fd;
}

static uint64_t uffd_supported_features(int *err) {
  int fd = open_uffd();
  if (fd < 0) {
    *err = errno;
    return 0;
  }
  struct uffdio_api api = {.api = UFFD_API, .features = 0};
  uint64_t f = 0;
  if (ioctl(fd, UFFDIO_API, &api) == 0) f = api.features;
  else *err = errno;
  close(fd);
  return f;
}

/* ---------------------------------------------------------------- userfaultfd handler */

static struct region *region_of(uint64_t addr) {
  for (int i = 0; i < nregions; i++) {
    struct region *r = &regions[i];
    if (r->mapped && addr >= (uint64_t)r->addr && addr < (uint64_t)r->addr + r->npages * page_size) return r;
  }
  return NULL;
}

/* Resolves faults the way a typical monitor does: wp -> unprotect the page (UFFDIO_WRITEPROTECT
 * mode 0, which also wakes the faulting thread); missing -> UFFDIO_COPY (or ZEROPAGE);
 * minor -> UFFDIO_CONTINUE. */
static volatile int uffd_handlers_started;

static void *uffd_handler(void *arg) {
  int uffd = (int)(intptr_t)arg;
  __atomic_add_fetch(&uffd_handlers_started, 1, __ATOMIC_SEQ_CST);
  struct pollfd pfd[2] = {{.fd = uffd, .events = POLLIN}, {.fd = uffd_stop_pipe[0], .events = POLLIN}};
  for (;;) {
    if (poll(pfd, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfd[1].revents) break;
    struct uffd_msg msg;
    ssize_t n = read(uffd, &msg, sizeof msg);
    if (n != sizeof msg) continue;
    if (msg.event != UFFD_EVENT_PAGEFAULT) continue;
    uint64_t addr = msg.arg.pagefault.address & ~(uint64_t)(page_size - 1);
    uint64_t flags = msg.arg.pagefault.flags;
    int rc;
    /* count before resolving: the resolving ioctl wakes the faulting thread, which may print first */
    if (flags & UFFD_PAGEFAULT_FLAG_WP) {
      __atomic_add_fetch(&uffd_count_wp, 1, __ATOMIC_SEQ_CST);
      struct uffdio_writeprotect wp = {.range = {.start = addr, .len = page_size}, .mode = 0};
      rc = ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
    } else if (flags & UFFD_PAGEFAULT_FLAG_MINOR) {
      __atomic_add_fetch(&uffd_count_minor, 1, __ATOMIC_SEQ_CST);
      struct uffdio_continue c = {.range = {.start = addr, .len = page_size}, .mode = 0};
      rc = ioctl(uffd, UFFDIO_CONTINUE, &c);
    } else {
      __atomic_add_fetch(&uffd_count_missing, 1, __ATOMIC_SEQ_CST);
      struct region *r = region_of(addr);
      if (r && r->uffd_resolve_zeropage) {
        struct uffdio_zeropage z = {.range = {.start = addr, .len = page_size}, .mode = 0};
        rc = ioctl(uffd, UFFDIO_ZEROPAGE, &z);
      } else {
        struct uffdio_copy c = {.dst = addr, .src = (uint64_t)copy_src, .len = page_size, .mode = 0};
        rc = ioctl(uffd, UFFDIO_COPY, &c);
      }
    }
    if (rc && errno != EEXIST) {
      __atomic_add_fetch(&uffd_count_errors, 1, __ATOMIC_RELAXED);
      struct uffdio_range wake = {.start = addr, .len = page_size};
      ioctl(uffd, UFFDIO_WAKE, &wake);
    }
  }
  return NULL;
}

static void stop_uffd_threads(void) {
  if (!nuffds || uffd_stop_pipe[1] < 0) return;
  /* one unread byte keeps the pipe readable, so every handler's poll sees it */
  if (write(uffd_stop_pipe[1], "x", 1) == 1)
    for (int i = 0; i < nuffds; i++) pthread_join(uffds[i].thread, NULL);
}

/* ---------------------------------------------------------------- touching memory */

static sigjmp_buf touch_jmp;
static volatile sig_atomic_t in_touch;
static volatile sig_atomic_t last_signal;

static void on_fault_signal(int sig) {
  if (in_touch) {
    last_signal = sig;
    siglongjmp(touch_jmp, 1);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

struct access {
  char *addr;
  char kind; /* r w u */
};

static size_t parse_touch(struct region *r, const struct op *o, struct access **out) {
  size_t cap = 256, n = 0;
  struct access *a = malloc(cap * sizeof *a);
  for (int i = 1; i < o->argc; i++) {
    const char *t = o->argv[i];
    char k = t[0];
    if (k != 'r' && k != 'w' && k != 'u') die(EXIT_SCRIPT, o->step, "bad touch token \"%s\" (rN, wN, uN, rA-B)", t);
    char *end;
    unsigned long lo = strtoul(t + 1, &end, 10), hi = lo;
    if (end == t + 1) die(EXIT_SCRIPT, o->step, "bad touch token \"%s\"", t);
    if (*end == '-') hi = strtoul(end + 1, &end, 10);
    if (*end || hi < lo || hi >= r->npages)
      die(EXIT_SCRIPT, o->step, "touch token \"%s\" is outside region %s (%zu pages)", t, r->name, r->npages);
    for (unsigned long p = lo; p <= hi; p++) {
      if (n == cap) a = realloc(a, (cap *= 2) * sizeof *a);
      /* a different byte per access keeps writes visible without touching a second line */
      a[n].addr = r->addr + p * page_size + (n % 64) * 8;
      a[n].kind = k;
      n++;
    }
  }
  *out = a;
  return n;
}

struct touch_result {
  unsigned long segv, bus;
};

/* One sigsetjmp per signal, not per access: sigsetjmp(.., 1) saves the signal mask with a system
 * call, which would dwarf the accesses a timed step measures. After a SIGSEGV/SIGBUS the loop
 * resumes with the next access. */
static void do_touch(struct access *a, size_t n, struct touch_result *res) {
  volatile size_t i = 0; /* volatile: survives siglongjmp */
  if (sigsetjmp(touch_jmp, 1)) {
    in_touch = 0;
    if (last_signal == SIGBUS) res->bus++;
    else res->segv++;
    i = i + 1;
  }
  in_touch = 1;
  for (; i < n; i = i + 1) {
    volatile char *p = a[i].addr;
    if (a[i].kind == 'r') (void)*p;
    else if (a[i].kind == 'w') *p = (char)(i % 255 + 1); /* never 0: a written page is never all zeros */
    else *p = (char)(*p + 1);
  }
  in_touch = 0;
}

/* ---------------------------------------------------------------- observation */

struct vma_info {
  uint64_t start, end;
  long rss_kb, ref_kb, dirty_kb, swap_kb, anon_huge_kb;
};

static struct vma_info *read_smaps(size_t *count) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) {
    *count = 0;
    return NULL;
  }
  size_t cap = 256, n = 0;
  struct vma_info *v = malloc(cap * sizeof *v);
  char *line = NULL;
  size_t len = 0;
  while (getline(&line, &len, f) > 0) {
    unsigned long long s, e;
    long kb;
    char key[64];
    if (sscanf(line, "%llx-%llx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) {
      if (n == cap) v = realloc(v, (cap *= 2) * sizeof *v);
      v[n++] = (struct vma_info){.start = s, .end = e};
    } else if (n && sscanf(line, "%63[^:]: %ld kB", key, &kb) == 2) {
      struct vma_info *c = &v[n - 1];
      if (strcmp(key, "Rss") == 0) c->rss_kb = kb;
      else if (strcmp(key, "Referenced") == 0) c->ref_kb = kb;
      else if (strcmp(key, "Private_Dirty") == 0 || strcmp(key, "Shared_Dirty") == 0) c->dirty_kb += kb;
      else if (strcmp(key, "Swap") == 0) c->swap_kb = kb;
      else if (strcmp(key, "AnonHugePages") == 0) c->anon_huge_kb = kb;
    }
  }
  free(line);
  fclose(f);
  *count = n;
  return v;
}

static struct vma_info *vma_at(struct vma_info *v, size_t n, uint64_t addr) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (addr < v[mid].start) hi = mid;
    else if (addr >= v[mid].end) lo = mid + 1;
    else return &v[mid];
  }
  return NULL;
}

/* One PAGEMAP_SCAN over [start, end) reporting every category; fills cats[] per page.
 * Returns 0 when the ioctl is not available here (pre-6.7). */
static int scan_categories(char *start, size_t npages, uint64_t *cats) {
  if (scan_supported == 0) return 0;
  struct ptl_page_region *vec = calloc(npages ? npages : 1, sizeof *vec);
  struct ptl_pm_scan_arg arg = {.size = sizeof arg,
                                .start = (uint64_t)start,
                                .end = (uint64_t)start + npages * page_size,
                                .vec = (uint64_t)vec,
                                .vec_len = npages,
                                .return_mask = PTL_PAGE_IS_ALL};
  for (size_t i = 0; i < npages; i++) cats[i] = 0;
  long got = ioctl(pagemap_fd, PTL_PAGEMAP_SCAN, &arg);
  if (got < 0) {
    if (errno == ENOTTY || errno == EINVAL || errno == EOPNOTSUPP) scan_supported = 0;
    free(vec);
    return 0;
  }
  scan_supported = 1;
  for (long k = 0; k < got; k++)
    for (uint64_t a = vec[k].start; a < vec[k].end; a += page_size) cats[(a - (uint64_t)start) / page_size] = vec[k].categories;
  free(vec);
  return 1;
}

static void print_bool_or_null(const char *key, int known, int value) {
  printf(",\"%s\":%s", key, known ? (value ? "true" : "false") : "null");
}

static void inspect_pages(struct region *r, const size_t *pages, size_t n) {
  size_t nv;
  struct vma_info *v = read_smaps(&nv);
  uint64_t *cats = malloc((r->npages ? r->npages : 1) * sizeof *cats);
  int have_scan = scan_categories(r->addr, r->npages, cats);
  printf(",\"inspect\":[");
  for (size_t k = 0; k < n; k++) {
    size_t p = pages[k];
    uint64_t addr = (uint64_t)r->addr + p * page_size, pm = 0, kpf = 0;
    if (pread(pagemap_fd, &pm, sizeof pm, (off_t)(addr / page_size * 8)) != sizeof pm)
      die(EXIT_SYS, -1, "reading /proc/self/pagemap: %s", strerror(errno));
    int present = !!(pm & PM_PRESENT), swapped = !!(pm & PM_SWAP);
    uint64_t pfn = pm & PM_PFN_MASK;
    int kpf_known = 0;
    if (present && pfn_visible && pfn && kpageflags_fd >= 0 &&
        pread(kpageflags_fd, &kpf, sizeof kpf, (off_t)(pfn * 8)) == sizeof kpf)
      kpf_known = 1;
    printf("%s{\"page\":%zu,\"pagemap\":\"0x%016llx\"", k ? "," : "", p, (unsigned long long)pm);
    printf(",\"present\":%s,\"swapped\":%s,\"file\":%s,\"uffdWp\":%s,\"softDirty\":%s,\"mappedExclusively\":%s,\"guard\":%s",
           present ? "true" : "false", swapped ? "true" : "false", pm & PM_FILE ? "true" : "false",
           pm & PM_UFFD_WP ? "true" : "false", !soft_dirty_supported ? "null" : pm & PM_SOFT_DIRTY ? "true" : "false",
           pm & PM_MMAP_EXCLUSIVE ? "true" : "false", pm & PM_GUARD ? "true" : "false");
    /* swap-format entries: the low 5 bits of the frame are the swap type (pagemap.rst);
     * type 31 is SWP_PTE_MARKER on x86-64 (MAX_SWAPFILES_SHIFT = 5). Only visible to root. */
    if (swapped && pfn_visible) printf(",\"swapType\":%llu", (unsigned long long)(pfn & 31));
    else printf(",\"swapType\":null");
    if (kpf_known) {
      printf(",\"kpageflags\":\"0x%llx\"", (unsigned long long)kpf);
      print_bool_or_null("folioDirty", 1, (kpf >> KPF_DIRTY) & 1);
      print_bool_or_null("folioReferenced", 1, (kpf >> KPF_REFERENCED) & 1);
      print_bool_or_null("anon", 1, (kpf >> KPF_ANON) & 1);
      print_bool_or_null("zeroPage", 1, (kpf >> KPF_ZERO_PAGE) & 1);
      print_bool_or_null("swapCache", 1, (kpf >> KPF_SWAPCACHE) & 1);
      print_bool_or_null("thp", 1, (kpf >> KPF_THP) & 1);
    } else {
      printf(",\"kpageflags\":null,\"folioDirty\":null,\"folioReferenced\":null,\"anon\":null,\"zeroPage\":null,\"swapCache\":null,\"thp\":null");
    }
    struct vma_info *vm = vma_at(v, nv, addr);
    int one_page_vma = vm && vm->end - vm->start == page_size;
    print_bool_or_null("smapsReferenced", one_page_vma, one_page_vma && vm->ref_kb > 0);
    print_bool_or_null("smapsDirty", one_page_vma, one_page_vma && vm->dirty_kb > 0);
    print_bool_or_null("smapsResident", one_page_vma, one_page_vma && vm->rss_kb > 0);
    if (have_scan) printf(",\"scan\":%llu}", (unsigned long long)cats[p]);
    else printf(",\"scan\":null}");
  }
  printf("]");
  /* region totals from smaps, in pages, over the VMAs inside the region */
  long rss = 0, ref = 0, dirty = 0, swp = 0, huge = 0, nvma = 0;
  for (size_t i = 0; i < nv; i++)
    if (v[i].start >= (uint64_t)r->addr && v[i].end <= (uint64_t)r->addr + r->npages * page_size) {
      rss += v[i].rss_kb, ref += v[i].ref_kb, dirty += v[i].dirty_kb, swp += v[i].swap_kb, huge += v[i].anon_huge_kb, nvma++;
    }
  long kb = (long)(page_size / 1024);
  printf(",\"smaps\":{\"vmas\":%ld,\"rss\":%ld,\"referenced\":%ld,\"dirty\":%ld,\"swap\":%ld,\"anonHuge\":%ld}", nvma, rss / kb,
         ref / kb, dirty / kb, swp / kb, huge / kb);
  free(cats);
  free(v);
}

/* ---------------------------------------------------------------- ops */

static char *tmp_dir_for(const char *fs) {
  static char buf[512];
  const char *env = getenv(strcmp(fs, "plain") == 0 ? "PTLAB_REPLAY_TMPFS" : "PTLAB_REPLAY_DISKDIR");
  if (env && *env) return strncpy(buf, env, sizeof buf - 1);
  /* plain: tmpfs (shmem has no ->page_mkwrite); mkwrite: a disk filesystem (ext4 here) whose
   * ->page_mkwrite runs on the first write to each clean page */
  return strcpy(buf, strcmp(fs, "plain") == 0 ? "/dev/shm" : "/var/tmp");
}

/* An mmap step in three parts, so that its timing window holds only the mmap() call the model
 * prices: mmap_prepare (before the window) parses, creates and fills the backing file, and
 * reserves the aligned range with its guard pages; mmap_map (in the window) maps the region over
 * the reservation; mmap_finish (after the window) applies the split and THP advice. */
struct mmap_plan {
  struct region *r;
  int prot, flags;
};

static struct mmap_plan mmap_prepare(const struct op *o) {
  need_args(o, 6);
  if (nregions == MAX_REGIONS) die(EXIT_SCRIPT, o->step, "too many regions (max %d)", MAX_REGIONS);
  struct region *r = NULL;
  for (int i = 0; i < nregions; i++)
    if (strcmp(regions[i].name, o->argv[0]) == 0) r = &regions[i];
  if (r && r->mapped) die(EXIT_SCRIPT, o->step, "region \"%s\" is already mapped", o->argv[0]);
  if (!r) r = &regions[nregions++];
  memset(r, 0, sizeof *r);
  snprintf(r->name, sizeof r->name, "%s", o->argv[0]);
  r->npages = strtoul(o->argv[1], NULL, 10);
  if (!r->npages) die(EXIT_SCRIPT, o->step, "region %s: size must be at least one page", r->name);
  const char *k = o->argv[2];
  r->kind = strcmp(k, "anon-private") == 0   ? ANON_PRIVATE
            : strcmp(k, "anon-shared") == 0  ? ANON_SHARED
            : strcmp(k, "file-shared") == 0  ? FILE_SHARED
            : strcmp(k, "file-private") == 0 ? FILE_PRIVATE
                                             : (die(EXIT_SCRIPT, o->step, "bad kind \"%s\"", k), ANON_PRIVATE);
  int prot = parse_prot(o->argv[3], o->step);
  const char *fs = o->argv[4];
  r->split = atoi(o->argv[5]);
  r->fd = -1;
  r->uffd = -1;
  r->tmpfs = r->kind == ANON_SHARED || ((r->kind == FILE_SHARED || r->kind == FILE_PRIVATE) && strcmp(fs, "plain") == 0);
  size_t len = r->npages * page_size;
  int flags = (r->kind == ANON_PRIVATE || r->kind == FILE_PRIVATE) ? MAP_PRIVATE : MAP_SHARED;
  if (r->kind == FILE_SHARED || r->kind == FILE_PRIVATE) {
    char path[600];
    snprintf(path, sizeof path, "%s/ptlab-replay-XXXXXX", tmp_dir_for(fs));
    r->fd = mkstemp(path);
    if (r->fd < 0) die(EXIT_REFUSE, o->step, "cannot create a temp file in %s: %s (set PTLAB_REPLAY_TMPFS / PTLAB_REPLAY_DISKDIR)", path, strerror(errno));
    unlink(path);
    /* a file with data whose pages are all in the page cache and clean (written, then fsync'ed
     * on disk; tmpfs pages have no backing store to be clean against), as the model's files
     * start: so read faults find cached pages and fault-around maps their neighbours */
    char *buf = malloc(page_size);
    for (size_t i = 0; i < r->npages; i++) {
      memset(buf, (int)(0x40 + i % 64), page_size);
      if (write(r->fd, buf, page_size) != (ssize_t)page_size) die(EXIT_SYS, o->step, "write temp file: %s", strerror(errno));
    }
    free(buf);
    if (strcmp(fs, "plain") != 0 && fsync(r->fd)) die(EXIT_SYS, o->step, "fsync: %s", strerror(errno));
  } else {
    flags |= MAP_ANONYMOUS;
  }
  /* one PROT_NONE guard page on each side keeps the region's VMAs from merging with others; the
   * region starts 2 MiB aligned like the model's (src/kernel/mm.ts), so fault-around windows
   * (64 KiB, virtually aligned) cover the same pages */
  size_t align = 2UL << 20;
  char *base = mmap(NULL, len + 2 * page_size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) die(EXIT_SYS, o->step, "mmap reserve: %s", strerror(errno));
  char *start = (char *)(((uintptr_t)base + page_size + align - 1) & ~(uintptr_t)(align - 1));
  /* give back the reservation outside [start - guard, start + len + guard) */
  if (start - page_size > base) munmap(base, (size_t)(start - page_size - base));
  char *resv_end = base + len + 2 * page_size + align, *guard_end = start + len + page_size;
  if (resv_end > guard_end) munmap(guard_end, (size_t)(resv_end - guard_end));
  r->addr = start;
  return (struct mmap_plan){r, prot, flags};
}

static void mmap_map(const struct op *o, struct mmap_plan *m) {
  struct region *r = m->r;
  r->addr = mmap(r->addr, r->npages * page_size, m->prot, m->flags | MAP_FIXED, r->fd, 0);
  if (r->addr == MAP_FAILED) die(EXIT_SYS, o->step, "mmap %s: %s", r->name, strerror(errno));
}

static void mmap_finish(const struct op *o, struct mmap_plan *m) {
  struct region *r = m->r;
  size_t len = r->npages * page_size;
  if (r->split)
    for (size_t i = 0; i < r->npages; i += 2)
      if (madvise(r->addr + i * page_size, page_size, MADV_NOHUGEPAGE))
        die(EXIT_SYS, o->step, "madvise(MADV_NOHUGEPAGE) to split %s: %s", r->name, strerror(errno));
  const char *thp = o->argc > 6 ? o->argv[6] : "-";
  if (strcmp(thp, "-") != 0) {
    int adv = strcmp(thp, "hugepage") == 0 ? MADV_HUGEPAGE : strcmp(thp, "nohugepage") == 0 ? MADV_NOHUGEPAGE : -1;
    if (adv < 0) die(EXIT_SCRIPT, o->step, "bad THP advice \"%s\" (hugepage nohugepage -)", thp);
    if (madvise(r->addr, len, adv)) die(EXIT_REFUSE, o->step, "madvise(%s) of %s: %s (a kernel without THP?)", thp, r->name, strerror(errno));
  }
  r->mapped = 1;
}

static void op_munmap(const struct op *o) {
  need_args(o, 1);
  struct region *r = mapped_region(o->argv[0], o->step);
  if (munmap(r->addr - page_size, (r->npages + 2) * page_size)) die(EXIT_SYS, o->step, "munmap: %s", strerror(errno));
  if (r->fd >= 0) close(r->fd);
  r->fd = -1;
  r->mapped = 0;
}

struct range_ctx {
  struct region *r;
  const struct op *o;
  int arg;
};

static void run_mprotect(size_t first, size_t count, void *c) {
  struct range_ctx *x = c;
  if (mprotect(x->r->addr + first * page_size, count * page_size, x->arg))
    die(EXIT_SYS, x->o->step, "mprotect: %s", strerror(errno));
}

/* The first errno of a step's MADV_COLLAPSE calls: a result to report (the kernel refused this
 * range's collapse), not a replay failure; the script goes on, as a program would. */
static const char *step_errno;

static const char *errno_name(int e) {
  return e == EINVAL ? "EINVAL" : e == EBUSY ? "EBUSY" : e == EAGAIN ? "EAGAIN" : e == ENOMEM ? "ENOMEM" : "EOTHER";
}

static void run_madvise(size_t first, size_t count, void *c) {
  struct range_ctx *x = c;
  if (madvise(x->r->addr + first * page_size, count * page_size, x->arg)) {
    if (x->arg == MADV_COLLAPSE && errno != EINVAL && errno != EBUSY && errno != EAGAIN && errno != ENOMEM)
      die(EXIT_SYS, x->o->step, "madvise(collapse): %s", strerror(errno));
    if (x->arg == MADV_COLLAPSE) {
      if (!step_errno) step_errno = errno_name(errno);
      return;
    }
    if (errno == EINVAL && (x->arg == MADV_COLD || x->arg == MADV_PAGEOUT || x->arg == MADV_FREE))
      die(EXIT_REFUSE, x->o->step, "madvise advice %s is not supported on this kernel/region", x->o->argv[1]);
    die(EXIT_SYS, x->o->step, "madvise(%s): %s", x->o->argv[1], strerror(errno));
  }
}

static void run_wp(size_t first, size_t count, void *c) {
  struct range_ctx *x = c;
  struct uffdio_writeprotect wp = {
      .range = {.start = (uint64_t)(x->r->addr + first * page_size), .len = count * page_size},
      .mode = x->arg ? UFFDIO_WRITEPROTECT_MODE_WP : 0};
  if (ioctl(x->r->uffd, UFFDIO_WRITEPROTECT, &wp)) die(EXIT_SYS, x->o->step, "UFFDIO_WRITEPROTECT: %s", strerror(errno));
}

static unsigned long eexist_count;

static void run_copy(size_t first, size_t count, void *c) {
  struct range_ctx *x = c;
  for (size_t i = 0; i < count; i++) {
    struct uffdio_copy cp = {.dst = (uint64_t)(x->r->addr + (first + i) * page_size),
                             .src = (uint64_t)copy_src,
                             .len = page_size,
                             .mode = x->arg ? UFFDIO_COPY_MODE_WP : 0};
    if (ioctl(x->r->uffd, UFFDIO_COPY, &cp)) {
      if (errno == EEXIST) eexist_count++;
      else die(EXIT_SYS, x->o->step, "UFFDIO_COPY: %s", strerror(errno));
    }
  }
}

/* page by page: a UFFDIO_COPY/ZEROPAGE range must lie in one VMA (-ENOENT otherwise), and a
 * split region has one VMA per page */
static void run_zeropage(size_t first, size_t count, void *c) {
  struct range_ctx *x = c;
  for (size_t i = 0; i < count; i++) {
    struct uffdio_zeropage z = {.range = {.start = (uint64_t)(x->r->addr + (first + i) * page_size), .len = page_size}};
    if (ioctl(x->r->uffd, UFFDIO_ZEROPAGE, &z)) {
      if (errno == EEXIST) eexist_count++;
      else die(EXIT_SYS, x->o->step, "UFFDIO_ZEROPAGE: %s", strerror(errno));
    }
  }
}

static void need_uffd(const struct op *o, struct region *r) {
  if (r->uffd < 0) die(EXIT_SCRIPT, o->step, "%s on region %s needs an earlier uffd-register", o->name, r->name);
  if (strcmp(self_name, "main") != 0)
    die(EXIT_REFUSE, o->step, "%s in forked process %s: the child has no userfaultfd (no UFFD_FEATURE_EVENT_FORK)", o->name, self_name);
}

/* The userfaultfd for a uffd-register step (one per feature set), created with its handler thread
 * before the step's timing window opens: the thread's start is the replayer's work, not the
 * kernel's, and on a pinned CPU it would run inside the window. */
static struct uffd_ctx *uffd_for_register(const struct op *o) {
  need_args(o, 4);
  struct region *r = mapped_region(o->argv[0], o->step);
  if (strcmp(self_name, "main") != 0) die(EXIT_REFUSE, o->step, "uffd-register is supported in the main process only");
  const char *modes = o->argv[1], *features = o->argv[2];
  uint64_t want = 0;
  if (has_word(features, "wp-async")) want |= UFFD_FEATURE_WP_ASYNC;
  if (has_word(features, "wp-unpopulated")) want |= UFFD_FEATURE_WP_UNPOPULATED;
  if (r->tmpfs) {
    if (has_word(modes, "wp")) want |= UFFD_FEATURE_WP_HUGETLBFS_SHMEM;
    if (has_word(modes, "minor")) want |= UFFD_FEATURE_MINOR_SHMEM;
    if (has_word(modes, "missing")) want |= UFFD_FEATURE_MISSING_SHMEM;
  }
  struct uffd_ctx *u = NULL;
  for (int i = 0; i < nuffds; i++)
    if (uffds[i].features == want) u = &uffds[i];
  if (!u) {
    int err = 0;
    uint64_t have = uffd_supported_features(&err);
    if (err)
      die(EXIT_REFUSE, o->step, "userfaultfd is not usable here: %s (needs root or vm.unprivileged_userfaultfd=1 or /dev/userfaultfd access)", strerror(err));
    if (has_word(modes, "wp") && !(have & UFFD_FEATURE_PAGEFAULT_FLAG_WP))
      die(EXIT_REFUSE, o->step, "this kernel has no userfaultfd write-protect (UFFD_FEATURE_PAGEFAULT_FLAG_WP, Linux 5.7)");
    uint64_t missing = want & ~have;
    if (missing) {
      const char *name = missing & UFFD_FEATURE_WP_ASYNC         ? "wp-async (UFFD_FEATURE_WP_ASYNC, Linux 6.7)"
                         : missing & UFFD_FEATURE_WP_UNPOPULATED ? "wp-unpopulated (UFFD_FEATURE_WP_UNPOPULATED, Linux 6.4)"
                         : missing & UFFD_FEATURE_WP_HUGETLBFS_SHMEM ? "uffd-wp on shmem (UFFD_FEATURE_WP_HUGETLBFS_SHMEM, Linux 5.19)"
                         : missing & UFFD_FEATURE_MINOR_SHMEM        ? "minor faults on shmem (UFFD_FEATURE_MINOR_SHMEM, Linux 5.14)"
                                                                     : "a requested userfaultfd feature";
      die(EXIT_REFUSE, o->step, "this kernel lacks %s (features 0x%llx missing)", name, (unsigned long long)missing);
    }
    if (nuffds == MAX_UFFDS) die(EXIT_SCRIPT, o->step, "too many distinct userfaultfd feature sets");
    u = &uffds[nuffds];
    u->features = want;
    u->fd = open_uffd();
    struct uffdio_api api = {.api = UFFD_API, .features = want};
    if (u->fd < 0 || ioctl(u->fd, UFFDIO_API, &api))
      die(EXIT_REFUSE, o->step, "UFFDIO_API with features 0x%llx failed: %s", (unsigned long long)want, strerror(errno));
    if (uffd_stop_pipe[0] < 0 && pipe(uffd_stop_pipe)) die(EXIT_SYS, o->step, "pipe: %s", strerror(errno));
    int started = uffd_handlers_started;
    if (pthread_create(&u->thread, NULL, uffd_handler, (void *)(intptr_t)u->fd)) die(EXIT_SYS, o->step, "pthread_create failed");
    nuffds++;
    while (uffd_handlers_started == started) sched_yield();
  }
  return u;
}

static void op_uffd_register(const struct op *o, struct uffd_ctx *u) {
  struct region *r = mapped_region(o->argv[0], o->step);
  const char *modes = o->argv[1];
  int uffd = u->fd;
  r->uffd = uffd;
  struct uffdio_register reg = {.range = {.start = (uint64_t)r->addr, .len = r->npages * page_size}, .mode = 0};
  if (has_word(modes, "missing")) reg.mode |= UFFDIO_REGISTER_MODE_MISSING;
  if (has_word(modes, "wp")) reg.mode |= UFFDIO_REGISTER_MODE_WP;
  if (has_word(modes, "minor")) {
    if (r->kind == ANON_PRIVATE) die(EXIT_REFUSE, o->step, "minor mode needs shmem or hugetlbfs; region %s is anon-private", r->name);
    reg.mode |= UFFDIO_REGISTER_MODE_MINOR;
  }
  if (!reg.mode) die(EXIT_SCRIPT, o->step, "uffd-register needs modes (missing, wp, minor)");
  r->uffd_resolve_zeropage = o->argc > 3 && strcmp(o->argv[3], "zeropage") == 0;
  if (ioctl(uffd, UFFDIO_REGISTER, &reg)) {
    /* vma_can_userfault() said no: the kernel's answer, which `ptlab diff` compares with the model's */
    if (errno == EINVAL) {
      refuse_errno = "EINVAL";
      die(EXIT_REFUSE, o->step, "UFFDIO_REGISTER(%s) of region %s failed with EINVAL (vma_can_userfault: this kernel does not register this memory type in these modes)", modes, o->argv[0]);
    }
    die(EXIT_SYS, o->step, "UFFDIO_REGISTER(%s): %s", modes, strerror(errno));
  }
}

static void op_khugepaged(const struct op *o);

static void op_clear_refs(const struct op *o) {
  need_args(o, 1);
  const char *v = strcmp(o->argv[0], "soft-dirty") == 0 ? "4" : strcmp(o->argv[0], "young") == 0 ? "1" : NULL;
  if (!v) die(EXIT_SCRIPT, o->step, "clear-refs mode must be soft-dirty or young, got \"%s\"", o->argv[0]);
  if (v[0] == '4' && !soft_dirty_supported)
    die(EXIT_REFUSE, o->step, "soft-dirty tracking is not built into this kernel (CONFIG_MEM_SOFT_DIRTY=n): clear_refs 4 would be a silent no-op");
  int fd = open("/proc/self/clear_refs", O_WRONLY);
  if (fd < 0) die(EXIT_REFUSE, o->step, "cannot open /proc/self/clear_refs: %s", strerror(errno));
  if (write(fd, v, 1) != 1) {
    int e = errno;
    close(fd);
    die(EXIT_REFUSE, o->step, "clear_refs %s not supported here (CONFIG_MEM_SOFT_DIRTY?): %s", v, strerror(e));
  }
  close(fd);
}

static void op_pagemap_scan(const struct op *o, struct region *r, const size_t *pages, size_t n, int rewp) {
  uint64_t cat = strcmp(o->argv[1], "soft-dirty") == 0 ? PTL_PAGE_IS_SOFT_DIRTY : PTL_PAGE_IS_WRITTEN;
  if (cat == PTL_PAGE_IS_SOFT_DIRTY && !soft_dirty_supported)
    die(EXIT_REFUSE, o->step, "PAGE_IS_SOFT_DIRTY needs CONFIG_MEM_SOFT_DIRTY, which this kernel lacks");
  /* the written pages of the region, PAGE_IS_WRITTEN (= !uffd-wp); with rewp, the matching pages
   * are write-protected again in the same walk (the CRIU-style WP_ASYNC tracking loop) */
  struct ptl_page_region *vec = calloc(r->npages, sizeof *vec);
  struct ptl_pm_scan_arg arg = {.size = sizeof arg,
                                .flags = rewp ? (PTL_PM_SCAN_WP_MATCHING | PTL_PM_SCAN_CHECK_WPASYNC) : 0,
                                .start = (uint64_t)r->addr,
                                .end = (uint64_t)r->addr + r->npages * page_size,
                                .vec = (uint64_t)vec,
                                .vec_len = r->npages,
                                .category_mask = cat,
                                .return_mask = cat};
  long got = ioctl(pagemap_fd, PTL_PAGEMAP_SCAN, &arg);
  if (got < 0) {
    if (errno == ENOTTY) die(EXIT_REFUSE, o->step, "PAGEMAP_SCAN needs Linux 6.7");
    die(EXIT_SYS, o->step, "PAGEMAP_SCAN: %s", strerror(errno));
  }
  char *want = calloc(r->npages, 1);
  for (size_t i = 0; i < n; i++) want[pages[i]] = 1;
  printf(",\"scan\":[");
  int first = 1;
  for (long k = 0; k < got; k++)
    for (uint64_t a = vec[k].start; a < vec[k].end; a += page_size) {
      size_t p = (a - (uint64_t)r->addr) / page_size;
      if (want[p]) printf("%s%zu", first ? "" : ",", p), first = 0;
    }
  printf("]");
  free(want);
  free(vec);
}

/* ---------------------------------------------------------------- fault sites */

/* Where a step's fault exceptions happened (native/common/fault-sample.h): on a region's page
 * ("region:page", the first MAX_SITES in order) or elsewhere (the replayer's own memory). */
#define MAX_SITES 64
struct fault_sites {
  long in, out;
  int nat, nout;
  char at[MAX_SITES][48];
  uint64_t out_addr[4];
};

static void note_fault_site(uint64_t addr, void *ctx) {
  struct fault_sites *s = ctx;
  struct region *r = region_of(addr);
  if (!r) {
    if (s->nout < 4) s->out_addr[s->nout++] = addr;
    s->out++;
    return;
  }
  s->in++;
  if (s->nat < MAX_SITES)
    snprintf(s->at[s->nat++], sizeof s->at[0], "%.32s:%llu", r->name, (unsigned long long)((addr - (uint64_t)r->addr) / page_size));
}

static void print_fault_sites(long sampled, const struct fault_sites *s) {
  if (sampled < 0) {
    printf(",\"pf\":{\"lost\":true}");
    return;
  }
  printf(",\"pf\":{\"in\":%ld,\"out\":%ld,\"at\":[", s->in, s->out);
  for (int i = 0; i < s->nat; i++) {
    if (i) printf(",");
    json_str(s->at[i]);
  }
  printf("],\"outAddrs\":[");
  for (int i = 0; i < s->nout; i++) printf("%s\"0x%llx\"", i ? "," : "", (unsigned long long)s->out_addr[i]);
  printf("]}");
}

/* ---------------------------------------------------------------- step execution */

static void run_child_loop(void);

/* Runs the touch path once so that a step's fault count is only its own: the code and stack
 * pages it needs are mapped first. A forked child needs this again, because fork does not copy
 * the PTEs of file-backed text without an anon_vma (vma_needs_copy) and the child re-faults them. */
static void warm_up(void) {
  volatile char stack[64 * 1024];
  for (size_t i = 0; i < sizeof stack; i += 512) stack[i] = 0;
  struct access a = {copy_src, 'u'};
  struct touch_result tr = {0, 0};
  do_touch(&a, 1, &tr);
  /* and the SIGSEGV path once (handler, siglongjmp, signal frame on the stack), so a touch step
   * that hits a PROT_NONE or read-only page counts no fault of the replayer's own code */
  char *none = mmap(NULL, page_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (none != MAP_FAILED) {
    struct access b = {none, 'r'};
    do_touch(&b, 1, &tr);
    munmap(none, page_size);
  }
  struct rusage ru;
  getrusage(RUSAGE_THREAD, &ru);
}

/* Writes the stack below the caller's frame, so that the frames of the step's own code are
 * already private (after fork they are copy-on-write) before the fault window opens.
 *
 * And the page of the thread's rseq area (glibc registers one per thread in its TCB): the kernel
 * writes it (rseq_cs, cpu_id) on the first return to user space after the thread was scheduled
 * out, e.g. after sleeping in a userfaultfd fault, so after fork that write is a copy-on-write
 * fault of the replayer's own, counted in the step's minflt (seen as one extra fault at
 * TLS page offset 0x68 = rseq_cs on Linux 6.18 with glibc 2.36). An atomic OR of 0 into rseq's
 * flags word writes the page without changing a value. */
static void __attribute__((noinline)) prefault_stack(void) {
  volatile char buf[32 * 1024];
  for (size_t i = 0; i < sizeof buf; i += 256) buf[i] = 0;
#ifdef PTL_HAVE_RSEQ
  if (__rseq_size > 0) {
    uint32_t *flags = (uint32_t *)((char *)__builtin_thread_pointer() + __rseq_offset + 16);
    __atomic_fetch_or(flags, 0, __ATOMIC_RELAXED);
  }
#endif
}

static void execute(const struct op *o) {
  struct rusage before, after;
  struct touch_result tr = {0, 0};
  struct access *acc = NULL;
  size_t nacc = 0, *pages = NULL, npages = 0;
  struct region *r = NULL;
  uint64_t m0 = uffd_count_missing, w0 = uffd_count_wp, n0 = uffd_count_minor;
  int inspect = 0, scan = 0, scan_rewp = 0;
  pid_t forked = 0;
  struct uffd_ctx *reg_uffd = NULL;
  struct mmap_plan mm = {0};
  eexist_count = 0;

  /* parse before measuring so that our own allocations never count as the step's faults */
  const char *name = o->name;
  if (strcmp(name, "touch") == 0) {
    need_args(o, 1);
    r = mapped_region(o->argv[0], o->step);
    nacc = parse_touch(r, o, &acc);
  } else if (strcmp(name, "inspect") == 0 || strcmp(name, "pagemap-scan") == 0) {
    int pi = strcmp(name, "inspect") == 0 ? 1 : 3;
    need_args(o, pi + 1);
    r = mapped_region(o->argv[0], o->step);
    pages = parse_pages(o->argv[pi], r->npages, &npages, o->step);
    inspect = pi == 1;
    scan = !inspect;
    scan_rewp = scan && atoi(o->argv[2]);
  } else if (strcmp(name, "mprotect") == 0 || strcmp(name, "madvise") == 0 || strcmp(name, "uffd-writeprotect") == 0 ||
             strcmp(name, "uffd-copy") == 0 || strcmp(name, "uffd-zeropage") == 0) {
    int is_zp = strcmp(name, "uffd-zeropage") == 0;
    need_args(o, is_zp ? 2 : 3);
    r = mapped_region(o->argv[0], o->step);
    pages = parse_pages(o->argv[is_zp ? 1 : 2], r->npages, &npages, o->step);
  } else if (strcmp(name, "uffd-register") == 0)
    reg_uffd = uffd_for_register(o);
  else if (strcmp(name, "mmap") == 0)
    mm = mmap_prepare(o);

  fflush(stdout);
  /* after fork these globals sit on copy-on-write pages: write them now, not inside the window */
  in_touch = 0, last_signal = 0;
  memset(&touch_jmp, 0, sizeof touch_jmp);
  eexist_count = 0;
  step_errno = NULL;
  prefault_stack();
  /* the timing calls read the vDSO data page, which a forked child faults in again: not inside the window */
  (void)ptl_thread_ns();
  ptl_fs_begin();
  getrusage(RUSAGE_THREAD, &before);
  double ns0 = ptl_process_ns();
  uint64_t tsc0 = ptl_tsc_begin();
  if (strcmp(name, "mmap") == 0) mmap_map(o, &mm);
  else if (strcmp(name, "munmap") == 0) op_munmap(o);
  else if (strcmp(name, "touch") == 0) do_touch(acc, nacc, &tr);
  else if (strcmp(name, "mprotect") == 0 || strcmp(name, "madvise") == 0 || strcmp(name, "uffd-writeprotect") == 0 ||
           strcmp(name, "uffd-copy") == 0 || strcmp(name, "uffd-zeropage") == 0) {
    int is_zp = strcmp(name, "uffd-zeropage") == 0;
    struct range_ctx x = {r, o, 0};
    if (strcmp(name, "mprotect") == 0) {
      x.arg = parse_prot(o->argv[1], o->step);
      for_runs(pages, npages, run_mprotect, &x);
    } else if (strcmp(name, "madvise") == 0) {
      const char *a = o->argv[1];
      x.arg = strcmp(a, "dontneed") == 0 ? MADV_DONTNEED
              : strcmp(a, "free") == 0   ? MADV_FREE
              : strcmp(a, "cold") == 0   ? MADV_COLD
              : strcmp(a, "pageout") == 0 ? MADV_PAGEOUT
              : strcmp(a, "hugepage") == 0 ? MADV_HUGEPAGE
              : strcmp(a, "nohugepage") == 0 ? MADV_NOHUGEPAGE
              : strcmp(a, "collapse") == 0 ? MADV_COLLAPSE
                                          : (die(EXIT_SCRIPT, o->step, "bad advice \"%s\" (dontneed free cold pageout hugepage nohugepage collapse)", a), 0);
      /* without swap, reclaim cannot move anon or shmem pages anywhere: the page would stay
       * mapped and the observation would not be the kernel rule under test */
      if (x.arg == MADV_PAGEOUT && !swap_on && (r->kind == ANON_PRIVATE || r->kind == FILE_PRIVATE || r->tmpfs))
        die(EXIT_REFUSE, o->step, "madvise pageout of region %s (%s) needs active swap, and /proc/swaps lists none (e.g. a zram swap device)",
            r->name, r->kind == ANON_PRIVATE ? "anon-private" : r->kind == FILE_PRIVATE ? "file-private: its copied pages are anon" : "shmem");
      for_runs(pages, npages, run_madvise, &x);
    } else {
      need_uffd(o, r);
      if (!is_zp) x.arg = atoi(o->argv[1]);
      for_runs(pages, npages,
               strcmp(name, "uffd-writeprotect") == 0 ? run_wp : strcmp(name, "uffd-copy") == 0 ? run_copy : run_zeropage, &x);
    }
  } else if (strcmp(name, "uffd-register") == 0) op_uffd_register(o, reg_uffd);
  else if (strcmp(name, "clear-refs") == 0) op_clear_refs(o);
  else if (strcmp(name, "khugepaged") == 0) op_khugepaged(o);
  else if (strcmp(name, "writeback") == 0) {
    need_args(o, 1);
    for (int i = 0; i < nregions; i++) {
      struct region *w = &regions[i];
      if (!w->mapped || w->fd < 0 || (strcmp(o->argv[0], "-") != 0 && strcmp(o->argv[0], w->name) != 0)) continue;
      /* MS_SYNC writes back dirty pages and write-protects their PTEs (folio_mkclean) */
      if (msync(w->addr, w->npages * page_size, MS_SYNC)) die(EXIT_SYS, o->step, "msync: %s", strerror(errno));
    }
  }
  else if (strcmp(name, "fork") == 0) {
    need_args(o, 1);
    if (strcmp(self_name, "main") != 0) die(EXIT_REFUSE, o->step, "only the main process can fork");
    if (nchildren == MAX_CHILDREN) die(EXIT_SCRIPT, o->step, "too many children");
    int cmd[2], ack[2];
    if (pipe(cmd) || pipe(ack)) die(EXIT_SYS, o->step, "pipe: %s", strerror(errno));
    fflush(stdout);
    forked = fork();
    if (forked < 0) die(EXIT_SYS, o->step, "fork: %s", strerror(errno));
    if (forked == 0) {
      snprintf(self_name, sizeof self_name, "%s", o->argv[0]);
      close(cmd[1]);
      close(ack[0]);
      /* an older sibling's pipe ends must not stay open here: the sibling would never see EOF */
      for (int i = 0; i < nchildren; i++)
        if (children[i].pid > 0) close(children[i].cmd_fd), close(children[i].ack_fd);
      children[0] = (struct child){.pid = 0, .cmd_fd = cmd[0], .ack_fd = ack[1]};
      nchildren = 0;
      uffd_stop_pipe[1] = -1; /* the handler thread does not exist in the child */
      /* /proc/self was resolved when the parent opened it: reopen to read the child's own mm */
      close(pagemap_fd);
      pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
      if (pagemap_fd < 0) die(EXIT_SYS, o->step, "child: open /proc/self/pagemap: %s", strerror(errno));
      if (ptl_fs_available()) ptl_fs_open(); /* the sampler is per thread: the child samples its own */
      warm_up();
      run_child_loop();       /* never returns */
    }
    close(cmd[0]);
    close(ack[1]);
    struct child *c = &children[nchildren++];
    snprintf(c->name, sizeof c->name, "%s", o->argv[0]);
    c->pid = forked, c->cmd_fd = cmd[1], c->ack_fd = ack[0];
  } else if (strcmp(name, "exit") == 0 || strcmp(name, "nop") == 0 || inspect || scan) {
    /* nothing to execute (inspect/scan observe after the fault window) */
  } else
    die(EXIT_SCRIPT, o->step, "unknown op \"%s\"", name);
  uint64_t tsc1 = ptl_tsc_end();
  double ns1 = ptl_process_ns();
  getrusage(RUSAGE_THREAD, &after);
  struct fault_sites sites = {0};
  long sampled = ptl_fs_end(note_fault_site, &sites);
  if (mm.r) mmap_finish(o, &mm);

  printf("{\"step\":%d,\"process\":", o->step);
  json_str(self_name);
  printf(",\"op\":");
  json_str(name);
  printf(",\"minflt\":%ld,\"majflt\":%ld,\"sigsegv\":%lu,\"sigbus\":%lu,\"accesses\":%zu", after.ru_minflt - before.ru_minflt,
         after.ru_majflt - before.ru_majflt, tr.segv, tr.bus, nacc);
  printf(",\"tsc\":%llu,\"cpuNs\":%.0f", (unsigned long long)(tsc1 - tsc0), ns1 - ns0);
  printf(",\"uffd\":{\"missing\":%llu,\"wp\":%llu,\"minor\":%llu,\"errors\":%llu}", (unsigned long long)(uffd_count_missing - m0),
         (unsigned long long)(uffd_count_wp - w0), (unsigned long long)(uffd_count_minor - n0), (unsigned long long)uffd_count_errors);
  if (ptl_fs_available()) print_fault_sites(sampled, &sites);
  if (eexist_count) printf(",\"eexist\":%lu", eexist_count);
  if (step_errno) printf(",\"errno\":\"%s\"", step_errno);
  if (strcmp(name, "nop") == 0 && o->argc) printf(",\"skipped\":\"%s\"", o->argv[0]);
  if (inspect) inspect_pages(r, pages, npages);
  if (scan) op_pagemap_scan(o, r, pages, npages, scan_rewp);
  printf("}\n");
  fflush(stdout);
  free(acc);
  free(pages);
}

/* A forked child executes the steps the parent hands it (by index), one at a time. */
static void run_child_loop(void) {
  int cmd = children[0].cmd_fd, ack = children[0].ack_fd;
  for (;;) {
    int idx;
    if (read(cmd, &idx, sizeof idx) != sizeof idx) _exit(0);
    if (idx < 0 || idx >= nops) _exit(2);
    execute(&ops[idx]);
    char ok = strcmp(ops[idx].name, "exit") == 0 ? 'x' : 'k';
    if (write(ack, &ok, 1) != 1) _exit(4);
    if (ok == 'x') _exit(0);
  }
}

static void dispatch(int idx) {
  const struct op *o = &ops[idx];
  if (strcmp(o->process, self_name) == 0) {
    if (strcmp(o->name, "exit") == 0) die(EXIT_SCRIPT, o->step, "the main process cannot exit before the script ends");
    execute(o);
    return;
  }
  for (int i = 0; i < nchildren; i++) {
    struct child *c = &children[i];
    if (strcmp(c->name, o->process) != 0 || c->pid <= 0) continue;
    fflush(stdout);
    char ok;
    if (write(c->cmd_fd, &idx, sizeof idx) != sizeof idx || read(c->ack_fd, &ok, 1) != 1) {
      int status = 0;
      waitpid(c->pid, &status, 0);
      die(EXIT_SYS, o->step, "process %s died (status 0x%x)", c->name, status);
    }
    if (ok == 'x') {
      waitpid(c->pid, NULL, 0);
      close(c->cmd_fd), close(c->ack_fd);
      c->pid = 0;
    }
    return;
  }
  die(EXIT_SCRIPT, o->step, "no live process named \"%s\" (fork it first)", o->process);
}

/* ---------------------------------------------------------------- main */

/* Host settings a script asks for (@mthp, @khugepaged, and khugepaged's scan interval during a
 * khugepaged step): written to sysfs (root), the old value saved and restored at exit. */
#define MAX_SAVED 16
#define THP_SYSFS "/sys/kernel/mm/transparent_hugepage/"
static char saved_path[MAX_SAVED][160], saved_value[MAX_SAVED][32];
static int nsaved;
static pid_t saved_owner; /* only the main process restores (a forked child shares the handler) */

/* Host settings and concurrent replays: every replay holds a shared lock on this file from
 * before it reads the host's settings (the header) to its exit; one that changes settings
 * (@mthp, @khugepaged, a khugepaged step) holds it exclusively from before it reads a setting's
 * old value until its exit has put the value back. So no replay sees another's temporary
 * settings, and two cannot save each other's temporary values as the old ones. */
static void host_settings_lock(int exclusive) {
  static int fd = -1, held = 0; /* held: 0 none, 1 shared, 2 exclusive */
  int want = exclusive ? 2 : 1;
  if (held >= want) return;
  if (fd < 0) fd = open("/tmp/ptlab-replay-host-settings.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0666);
  if (fd >= 0) fchmod(fd, 0666); /* (umask) any user's replay may take it */
  /* a user who cannot open it cannot change host settings either: go on without the lock */
  if (fd >= 0 && flock(fd, exclusive ? LOCK_EX : LOCK_SH))
    die(EXIT_SYS, -1, "cannot lock /tmp/ptlab-replay-host-settings.lock: %s", strerror(errno));
  held = want;
}
static void sysfs_lock(void) { host_settings_lock(1); }

static int write_sysfs(const char *path, const char *value) {
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  int bad = fputs(value, f) < 0;
  return fclose(f) != 0 || bad ? -1 : 0;
}

/* The file's value as it reads (trailing newline dropped), "" if unreadable. */
static void read_sysfs(const char *path, char *buf, size_t len) {
  buf[0] = 0;
  FILE *f = fopen(path, "r");
  if (!f) return;
  if (!fgets(buf, (int)len, f)) buf[0] = 0;
  fclose(f);
  buf[strcspn(buf, "\n")] = 0;
}

static void restore_sysfs(void) {
  if (getpid() != saved_owner) return;
  for (int i = nsaved - 1; i >= 0; i--) {
    /* a value already back in place ("10000", or "[never]" among the modes) is not written
     * again: writing khugepaged's interval wakes it for an extra pass into the next replay */
    char cur[128], mode[40];
    read_sysfs(saved_path[i], cur, sizeof cur);
    snprintf(mode, sizeof mode, "[%s]", saved_value[i]);
    if (strcmp(cur, saved_value[i]) != 0 && !strstr(cur, mode)) write_sysfs(saved_path[i], saved_value[i]);
  }
  nsaved = 0;
}

/* Killed (the driver's timeout, ^C): put the settings back with async-signal-safe calls only. */
static void restore_sysfs_on_signal(int sig) {
  if (getpid() == saved_owner)
    for (int i = nsaved - 1; i >= 0; i--) {
      int fd = open(saved_path[i], O_WRONLY);
      if (fd >= 0) {
        ssize_t n = write(fd, saved_value[i], strlen(saved_value[i]));
        (void)n;
        close(fd);
      }
    }
  signal(sig, SIG_DFL);
  raise(sig);
}

/* Write VALUE to PATH (whose current value is OLD), remembering OLD for the exit; -1 if the write failed. */
static int set_sysfs(const char *path, const char *old, const char *value) {
  if (nsaved == MAX_SAVED) die(EXIT_SCRIPT, -1, "too many host settings");
  snprintf(saved_path[nsaved], sizeof saved_path[0], "%s", path);
  snprintf(saved_value[nsaved], sizeof saved_value[0], "%s", old);
  if (nsaved++ == 0) {
    saved_owner = getpid();
    atexit(restore_sysfs);
    signal(SIGTERM, restore_sysfs_on_signal);
    signal(SIGINT, restore_sysfs_on_signal);
    signal(SIGHUP, restore_sysfs_on_signal);
  }
  if (write_sysfs(path, value) == 0) return 0;
  nsaved--;
  return -1;
}

/* transparent_hugepage/khugepaged/KNOB as a number, or -1 */
static long read_khugepaged(const char *knob) {
  char path[160], buf[32] = "";
  snprintf(path, sizeof path, THP_SYSFS "khugepaged/%s", knob);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long v = fgets(buf, sizeof buf, f) ? strtol(buf, NULL, 10) : -1;
  fclose(f);
  return v;
}

/* @mthp SIZE MODE, e.g. "@mthp 64kB always": hugepages-SIZE/enabled */
static void set_mthp(const char *size, const char *mode) {
  sysfs_lock();
  if (strlen(size) > 16 || strchr(size, '/')) die(EXIT_SCRIPT, -1, "bad mTHP size \"%s\"", size);
  char path[160];
  snprintf(path, sizeof path, THP_SYSFS "hugepages-%s/enabled", size);
  char buf[128] = "";
  FILE *f = fopen(path, "r");
  if (!f || !fgets(buf, sizeof buf, f)) die(EXIT_REFUSE, -1, "multi-size THP %s: cannot read %s (a kernel before 6.8, or no such size)", size, path);
  fclose(f);
  const char *modes[] = {"always", "inherit", "madvise", "never"};
  const char *cur = NULL;
  for (int m = 0; m < 4; m++) {
    char br[24];
    snprintf(br, sizeof br, "[%s]", modes[m]);
    if (strstr(buf, br)) cur = modes[m];
  }
  if (!cur) die(EXIT_REFUSE, -1, "multi-size THP %s: cannot parse \"%s\"", size, buf);
  if (set_sysfs(path, cur, mode)) die(EXIT_REFUSE, -1, "multi-size THP %s=%s needs root to write %s: %s", size, mode, path, strerror(errno));
}

/* @khugepaged KNOB VALUE, e.g. "@khugepaged max_ptes_none 511" */
static void set_khugepaged(const char *knob, const char *value) {
  sysfs_lock();
  if (strcmp(knob, "max_ptes_none") && strcmp(knob, "max_ptes_swap") && strcmp(knob, "max_ptes_shared"))
    die(EXIT_SCRIPT, -1, "@khugepaged: unknown knob \"%s\" (max_ptes_none max_ptes_swap max_ptes_shared)", knob);
  long cur = read_khugepaged(knob);
  if (cur < 0) die(EXIT_REFUSE, -1, "khugepaged/%s cannot be read: a kernel without transparent huge pages", knob);
  if (cur == strtol(value, NULL, 10)) return;
  char path[160], old[32];
  snprintf(path, sizeof path, THP_SYSFS "khugepaged/%s", knob);
  snprintf(old, sizeof old, "%ld", cur);
  if (set_sysfs(path, old, value)) die(EXIT_REFUSE, -1, "khugepaged/%s=%s (the host has %ld) needs root to write %s: %s", knob, value, cur, path, strerror(errno));
}

/* One full khugepaged scan as the khugepaged.c selftest waits for it: khugepaged/full_scans
 * advances by two (the scan in progress may already have passed the range). The 10 s default
 * interval between passes is cut to 10 ms for the wait when this is root (restored after). */
static void op_khugepaged(const struct op *o) {
  char buf[128] = "";
  FILE *f = fopen(THP_SYSFS "enabled", "r");
  if (!f || !fgets(buf, sizeof buf, f)) die(EXIT_REFUSE, o->step, "cannot read " THP_SYSFS "enabled: a kernel without transparent huge pages");
  fclose(f);
  if (strstr(buf, "[never]")) return; /* khugepaged does not run (the model does nothing either) */
  sysfs_lock();
  long start = read_khugepaged("full_scans"), sleep_ms = read_khugepaged("scan_sleep_millisecs"), alloc_ms = read_khugepaged("alloc_sleep_millisecs");
  if (start < 0 || sleep_ms < 0 || alloc_ms < 0) die(EXIT_REFUSE, o->step, "cannot read khugepaged/full_scans");
  /* as the khugepaged.c selftest: 10 ms between passes, and after a failed THP allocation */
  char scan_path[160] = THP_SYSFS "khugepaged/scan_sleep_millisecs", alloc_path[160] = THP_SYSFS "khugepaged/alloc_sleep_millisecs";
  char scan_old[32], alloc_old[32];
  snprintf(scan_old, sizeof scan_old, "%ld", sleep_ms);
  snprintf(alloc_old, sizeof alloc_old, "%ld", alloc_ms);
  int fast = set_sysfs(alloc_path, alloc_old, "10") == 0 && set_sysfs(scan_path, scan_old, "10") == 0;
  int waited_ms = 0, still_ms = 0, limit_ms = fast ? 60000 : 3 * 2 * (int)sleep_ms + 60000;
  long last = start;
  while (read_khugepaged("full_scans") < start + 2 && waited_ms < limit_ms) {
    usleep(10000);
    waited_ms += 10;
    long now = read_khugepaged("full_scans");
    still_ms = now == last ? still_ms + 10 : 0;
    last = now;
    /* no full scan in 2 s at a 10 ms interval: no mm is on khugepaged's list (an mm joins it at a
     * THP-eligible fault, or MADV_HUGEPAGE on a VMA that has an anon_vma), so there is nothing
     * it could collapse */
    if (fast && still_ms >= 2000) break;
  }
  if (waited_ms >= limit_ms) {
    if (fast) write_sysfs(scan_path, scan_old), write_sysfs(alloc_path, alloc_old);
    die(EXIT_REFUSE, o->step, "khugepaged did not complete two full scans in %d s", limit_ms / 1000);
  }
  if (fast) {
    /* writing the interval back wakes khugepaged for one more pass: let it run, and end, inside
     * this step (it finds nothing new here) rather than into the steps and replays after it:
     * wait for its full scan (at most 5 s), then until full_scans has stood still for 200 ms */
    long scans = read_khugepaged("full_scans");
    write_sysfs(alloc_path, alloc_old);
    write_sysfs(scan_path, scan_old);
    for (int ms = 0; ms < 5000 && still_ms < 2000 && read_khugepaged("full_scans") <= scans; ms += 10) usleep(10000);
    for (int still = 0, ms = 0; still < 200 && ms < 5000; ms += 10) {
      long now = read_khugepaged("full_scans");
      usleep(10000);
      still = read_khugepaged("full_scans") == now ? still + 10 : 0;
    }
  }
}

static void read_script(void) {
  char *line = NULL;
  size_t len = 0, cap = 64;
  ops = malloc(cap * sizeof *ops);
  while (getline(&line, &len, stdin) > 0) {
    char *save, *tok = strtok_r(line, " \t\r\n", &save);
    if (!tok || tok[0] == '#') continue;
    if (strcmp(tok, "@mthp") == 0 || strcmp(tok, "@khugepaged") == 0) {
      char *a = strtok_r(NULL, " \t\r\n", &save), *b = strtok_r(NULL, " \t\r\n", &save);
      if (!a || !b) die(EXIT_SCRIPT, -1, "%s needs two arguments", tok);
      if (tok[1] == 'm') set_mthp(a, b);
      else set_khugepaged(a, b);
      continue;
    }
    struct op o = {.step = atoi(tok)};
    char *proc = strtok_r(NULL, " \t\r\n", &save), *name = strtok_r(NULL, " \t\r\n", &save);
    if (!proc || !name) die(EXIT_SCRIPT, o.step, "script line needs STEP PROCESS OP");
    o.process = strdup(proc);
    o.name = strdup(name);
    size_t acap = 8;
    o.argv = malloc(acap * sizeof *o.argv);
    while ((tok = strtok_r(NULL, " \t\r\n", &save))) {
      if ((size_t)o.argc == acap) o.argv = realloc(o.argv, (acap *= 2) * sizeof *o.argv);
      o.argv[o.argc++] = strdup(tok);
    }
    if (nops == (int)cap) ops = realloc(ops, (cap *= 2) * sizeof *ops);
    ops[nops++] = o;
  }
  free(line);
}

/* --time: the timing state printed in the header */
static int time_mode, others_busy, pinned_cpu = -1;
static double tsc_ghz, overhead_tsc, overhead_ns;

/* The cost of an empty timing window (median of 101), which the driver subtracts from every
 * step: reading the thread CPU clock is a system call on some hosts (kvm-clock), ~1 us. */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}
static void measure_overhead(void) {
  double t[101], c[101];
  for (int i = 0; i < 101; i++) {
    double ns0 = ptl_process_ns();
    uint64_t tsc0 = ptl_tsc_begin();
    uint64_t tsc1 = ptl_tsc_end();
    double ns1 = ptl_process_ns();
    t[i] = (double)(tsc1 - tsc0), c[i] = ns1 - ns0;
  }
  qsort(t, 101, sizeof *t, cmp_double);
  qsort(c, 101, sizeof *c, cmp_double);
  overhead_tsc = t[50], overhead_ns = c[50];
}

static void header(void) {
  struct utsname u;
  uname(&u);
  int err = 0;
  uint64_t f = uffd_supported_features(&err);
  int scan_ok = 0;
  struct ptl_pm_scan_arg arg = {.size = sizeof arg, .start = 0, .end = 0, .return_mask = PTL_PAGE_IS_ALL};
  scan_ok = ioctl(pagemap_fd, PTL_PAGEMAP_SCAN, &arg) >= 0 || errno != ENOTTY;
  scan_supported = scan_ok ? -1 : 0;
  printf("{\"replay\":\"ptlab\",\"version\":1,\"kernel\":");
  json_str(u.release);
  printf(",\"machine\":");
  json_str(u.machine);
  printf(",\"pageSize\":%zu,\"pfnVisible\":%s,\"kpageflags\":%s,\"pagemapScan\":%s,\"swap\":%s,\"softDirty\":%s", page_size,
         pfn_visible ? "true" : "false", kpageflags_fd >= 0 ? "true" : "false", scan_ok ? "true" : "false",
         swap_on ? "true" : "false", soft_dirty_supported ? "true" : "false");
  printf(",\"zeroPageOnRead\":%s", zero_page_on_read ? "true" : "false");
  if (time_mode) {
    char hv[13];
    ptl_hypervisor_vendor(hv);
    printf(",\"time\":{\"tscGHz\":%.4f,\"pinnedCpu\":%d,\"spinners\":%d,\"overheadTsc\":%.0f,\"overheadCpuNs\":%.0f,\"hypervisor\":", tsc_ghz,
           pinned_cpu, ptl_nspin, overhead_tsc, overhead_ns);
    json_str(hv);
    printf("}");
  }
  /* transparent huge pages: the bracketed word of enabled, and use_zero_page (null: no THP) */
  {
    char buf[128] = "";
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    const char *mode = NULL;
    if (f && fgets(buf, sizeof buf, f)) mode = strstr(buf, "[always]") ? "always" : strstr(buf, "[madvise]") ? "madvise" : strstr(buf, "[never]") ? "never" : NULL;
    if (f) fclose(f);
    printf(",\"thp\":");
    if (mode) json_str(mode);
    else printf("null");
    int zp = -1;
    f = fopen("/sys/kernel/mm/transparent_hugepage/use_zero_page", "r");
    if (f && fscanf(f, "%d", &zp) != 1) zp = -1;
    if (f) fclose(f);
    printf(",\"thpZeroPage\":%s", zp < 0 ? "null" : zp ? "true" : "false");
    /* multi-size THP (6.8+): the bracketed mode of each hugepages-<size>kB below 2 MiB */
    static const char *sizes[] = {"16kB", "32kB", "64kB", "128kB", "256kB", "512kB", "1024kB"};
    printf(",\"mthp\":{");
    int nm = 0;
    for (int i = 0; i < 7; i++) {
      char path[128], line[128] = "";
      snprintf(path, sizeof path, "/sys/kernel/mm/transparent_hugepage/hugepages-%s/enabled", sizes[i]);
      FILE *m = fopen(path, "r");
      if (!m) continue;
      if (fgets(line, sizeof line, m)) {
        const char *md = strstr(line, "[always]") ? "always" : strstr(line, "[inherit]") ? "inherit" : strstr(line, "[madvise]") ? "madvise" : "never";
        printf("%s\"%s\":\"%s\"", nm++ ? "," : "", sizes[i], md);
      }
      fclose(m);
    }
    printf("}");
  }
  if (err) {
    printf(",\"uffd\":null,\"uffdError\":");
    json_str(strerror(err));
  } else
    printf(",\"uffd\":\"0x%llx\"", (unsigned long long)f);
  printf("}\n");
  fflush(stdout);
}

#define SPINNER_FLAG "--spinner"

int main(int argc, char **argv) {
  page_size = (size_t)sysconf(_SC_PAGESIZE);
  int probe_only = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], SPINNER_FLAG) == 0 && i + 2 < argc) ptl_spin_main(atoi(argv[i + 1]), (pid_t)atoi(argv[i + 2]));
    else if (strcmp(argv[i], "--probe") == 0) probe_only = 1;
    else if (strcmp(argv[i], "--time") == 0) time_mode = 1;
    else if (strcmp(argv[i], "--others") == 0 && i + 1 < argc && (strcmp(argv[i + 1], "busy") == 0 || strcmp(argv[i + 1], "as-is") == 0))
      others_busy = strcmp(argv[++i], "busy") == 0;
    else die(EXIT_SCRIPT, -1, "unknown argument %s (usage: replay [--probe] [--time [--others busy|as-is]])", argv[i]);
  }
  if (time_mode) {
    pinned_cpu = ptl_pin_and_spin(others_busy ? SPINNER_FLAG : NULL);
    if (pinned_cpu < 0) die(EXIT_REFUSE, -1, "cannot pin the replayer to one CPU (sched_setaffinity: %s)", strerror(errno));
    tsc_ghz = ptl_tsc_ghz();
    measure_overhead();
  }
  pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
  if (pagemap_fd < 0) die(EXIT_REFUSE, -1, "cannot open /proc/self/pagemap: %s", strerror(errno));
  kpageflags_fd = open("/proc/kpageflags", O_RDONLY);
  /* PFNs are zeroed for readers without CAP_SYS_ADMIN (pagemap.rst); probe with a known page */
  copy_src = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(copy_src, 0x5a, page_size);
  uint64_t pm = 0;
  if (pread(pagemap_fd, &pm, 8, (off_t)((uint64_t)copy_src / page_size * 8)) == 8) pfn_visible = (pm & PM_PFN_MASK) != 0;
  /* soft-dirty probe: a new VMA is VM_SOFTDIRTY, so its written page reads soft-dirty when
   * CONFIG_MEM_SOFT_DIRTY is built in, and never otherwise */
  {
    char *q = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t e = 0;
    q[0] = 1;
    if (pread(pagemap_fd, &e, 8, (off_t)((uint64_t)q / page_size * 8)) == 8) soft_dirty_supported = !!(e & PM_SOFT_DIRTY);
    munmap(q, page_size);
  }
  /* zero-page probe: do_anonymous_page maps the shared zero page on a read fault unless the
   * kernel forbids it (mm_forbids_zeropage) or is patched; PAGEMAP_SCAN/kpageflags tell */
  {
    char *q = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint64_t e = 0, k = 0;
    (void)*(volatile char *)q;
    if (pread(pagemap_fd, &e, 8, (off_t)((uint64_t)q / page_size * 8)) == 8 && (e & PM_PRESENT)) {
      if (pfn_visible && kpageflags_fd >= 0 && pread(kpageflags_fd, &k, 8, (off_t)((e & PM_PFN_MASK) * 8)) == 8)
        zero_page_on_read = (k >> KPF_ZERO_PAGE) & 1;
      else {
        uint64_t cat = 0;
        if (scan_categories(q, 1, &cat)) zero_page_on_read = !!(cat & PTL_PAGE_IS_PFNZERO);
      }
    }
    munmap(q, page_size);
  }
  swap_on = swap_active();
  host_settings_lock(0);
  header();
  if (probe_only) return 0;

  struct sigaction sa = {.sa_handler = on_fault_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  /* a timed replay is not sampled: a sample per fault would be part of what it times */
  if (!time_mode) ptl_fs_open();
  warm_up();

  read_script();
  for (int i = 0; i < nops; i++) dispatch(i);
  for (int i = 0; i < nchildren; i++)
    if (children[i].pid > 0) {
      close(children[i].cmd_fd);
      waitpid(children[i].pid, NULL, 0);
    }
  stop_uffd_threads();
  ptl_stop_spinners();
  printf("{\"done\":true}\n");
  fflush(stdout);
  return 0;
}
