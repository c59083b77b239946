/*
 * Where a thread's page faults happen: a perf software event (PERF_COUNT_SW_PAGE_FAULTS) that
 * samples every fault exception of the calling thread with its address (PERF_SAMPLE_ADDR).
 *
 * Why: getrusage's minflt/majflt count every fault of the thread, including faults on the
 * replayer's own memory (a stack or heap page that fork made copy-on-write, a text page whose page
 * cache was reclaimed). With the addresses, a step's count can be limited to the experiment's
 * pages, and a difference can say which pages faulted.
 *
 * The event fires once per #PF exception, at the top of do_user_addr_fault (arch/x86/mm/fault.c,
 * perf_sw_event(PERF_COUNT_SW_PAGE_FAULTS)), so a fault the kernel retries internally
 * (VM_FAULT_RETRY, e.g. after handle_userfault) is one sample, as it is one minflt.
 *
 * Samples are read after the step from a ring buffer; a step with more faults than the ring holds
 * (the event's count exceeds the samples read) reports itself as overflowed and the caller falls
 * back to the plain counts. Without
 * perf_event_open (kernel.perf_event_paranoid, seccomp, no CONFIG_PERF_EVENTS) nothing is sampled.
 */
#ifndef PTL_FAULT_SAMPLE_H
#define PTL_FAULT_SAMPLE_H

#include <linux/perf_event.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* 2^7 data pages: 512 KiB, room for 32 Ki samples of 16 bytes */
#define PTL_FS_DATA_PAGES 128

static int ptl_fs_fd = -1;
static void *ptl_fs_ring;
static size_t ptl_fs_page;

/* Opens the sampler for the calling thread (again in a forked child: the event is per thread). */
static void ptl_fs_open(void) {
  if (ptl_fs_fd >= 0) {
    munmap(ptl_fs_ring, (1 + PTL_FS_DATA_PAGES) * ptl_fs_page);
    close(ptl_fs_fd);
    ptl_fs_fd = -1;
  }
  ptl_fs_page = (size_t)sysconf(_SC_PAGESIZE);
  struct perf_event_attr a;
  memset(&a, 0, sizeof a);
  a.type = PERF_TYPE_SOFTWARE;
  a.size = sizeof a;
  a.config = PERF_COUNT_SW_PAGE_FAULTS;
  a.sample_period = 1;
  a.sample_type = PERF_SAMPLE_ADDR;
  a.disabled = 1;
  int fd = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) return;
  void *ring = mmap(NULL, (1 + PTL_FS_DATA_PAGES) * ptl_fs_page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (ring == MAP_FAILED) {
    close(fd);
    return;
  }
  /* the ring's pages are the kernel's; touching the header now keeps its fault out of a step */
  (void)*(volatile uint64_t *)ring;
  ptl_fs_fd = fd;
  ptl_fs_ring = ring;
}

static int ptl_fs_available(void) { return ptl_fs_fd >= 0; }

/* Drops what is in the ring and starts sampling. */
static void ptl_fs_begin(void) {
  if (ptl_fs_fd < 0) return;
  struct perf_event_mmap_page *h = (struct perf_event_mmap_page *)ptl_fs_ring;
  uint64_t head = __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE);
  __atomic_store_n(&h->data_tail, head, __ATOMIC_RELEASE);
  ioctl(ptl_fs_fd, PERF_EVENT_IOC_RESET, 0);
  ioctl(ptl_fs_fd, PERF_EVENT_IOC_ENABLE, 0);
}

/* Stops sampling and calls `each` with every sampled fault address, in order. Returns the number
 * of samples, or -1 when some were lost (the ring was full) or nothing was sampled. */
static long ptl_fs_end(void (*each)(uint64_t addr, void *ctx), void *ctx) {
  if (ptl_fs_fd < 0) return -1;
  ioctl(ptl_fs_fd, PERF_EVENT_IOC_DISABLE, 0);
  struct perf_event_mmap_page *h = (struct perf_event_mmap_page *)ptl_fs_ring;
  uint64_t head = __atomic_load_n(&h->data_head, __ATOMIC_ACQUIRE), tail = h->data_tail;
  const char *data = (const char *)ptl_fs_ring + ptl_fs_page;
  size_t size = PTL_FS_DATA_PAGES * ptl_fs_page;
  long n = 0, lost = 0;
  while (tail < head) {
    struct perf_event_header e;
    /* records can wrap around the end of the ring: copy byte-wise through the modulo */
    for (size_t i = 0; i < sizeof e; i++) ((char *)&e)[i] = data[(tail + i) % size];
    if (e.size == 0) break;
    if (e.type == PERF_RECORD_SAMPLE) {
      uint64_t addr;
      for (size_t i = 0; i < sizeof addr; i++) ((char *)&addr)[i] = data[(tail + sizeof e + i) % size];
      each(addr, ctx);
      n++;
    } else if (e.type == PERF_RECORD_LOST)
      lost = 1;
    tail += e.size;
  }
  __atomic_store_n(&h->data_tail, head, __ATOMIC_RELEASE);
  /* a full ring drops samples and can only say so (PERF_RECORD_LOST) once there is room again:
   * the event's own count tells whether every fault was sampled */
  uint64_t count = 0;
  if (read(ptl_fs_fd, &count, sizeof count) != (ssize_t)sizeof count || count != (uint64_t)n) lost = 1;
  return lost ? -1 : n;
}

#endif
