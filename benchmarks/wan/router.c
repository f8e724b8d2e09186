/*
 * wanrouter: a user-space wide-area network between network namespaces.
 *
 * Every emulated host is a network namespace holding one TUN device, `wan0`, addressed
 * 10.7.<region>.<host>/16: the kernel hands every IPv4 packet for 10.7.0.0/16 to the TUN,
 * this process reads it, holds it for the (source region, destination region) link's
 * one-way delay (plus the link's serialisation time when it has a rate, and possibly drops
 * it: random loss, or a full queue), and writes it into the destination host's TUN, where
 * that kernel receives it as if from a wire. The kernel here has no netem, so this is how
 * real traffic (UDP of Chromium's WebRTC included) gets distance. Traffic inside one region
 * crosses the router too (its own link, e.g. 5 ms), because every host is its own namespace.
 *
 * Why C: Node cannot issue the TUNSETIFF ioctl, and the router must move ~10k packets/s
 * (10 MiB/s of ~1.1 KB WebRTC packets) with sub-millisecond timing; a single-threaded poll
 * loop in C does that with a few microseconds per packet. The TypeScript orchestrator
 * (wan.ts) compiles this file with the machine's gcc into a temporary directory.
 *
 * Usage (built by wan.ts, not meant for hand use):
 *   wanrouter [seed S] [pool N]
 *             host <region> <host> <netns path> ...
 *             link <from region> <to region> <delay us> <rate bytes/s|0> <loss ppm> <queue us> ...
 * It creates each host's TUN inside that namespace (setns, open, TUNSETIFF, setns back),
 * prints "ready" and then serves. Commands on stdin, one a line: "stats" prints one JSON
 * line of counters (per link, and bytes per source/destination host pair); EOF or SIGTERM
 * ends it. It also dies with its parent (PR_SET_PDEATHSIG).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOSTS 256
#define MAX_REGIONS 32
#define PKT_CAP 2048
#define READ_BURST 64

struct pkt {
  struct pkt *next;
  uint64_t release_ns;
  int dst;           /* destination host index */
  int len;
  unsigned char data[PKT_CAP];
};

struct link {
  int configured;
  uint64_t delay_ns;
  uint64_t rate_bps;     /* bytes per second, 0 = unlimited */
  uint32_t loss_ppm;
  uint64_t queue_ns;     /* most a packet may wait for the rate before being dropped */
  uint64_t free_at_ns;   /* when the link's "wire" is free again (rate only) */
  struct pkt *head, *tail;
  uint64_t packets, bytes, lost, queue_drops, delivered, queued;
};

struct host {
  int region;   /* region number, 1..254 */
  int rindex;   /* index into regions */
  int number;   /* host number, 1..254 */
  int fd;
};

static struct host hosts[MAX_HOSTS];
static int nhosts;
static int region_numbers[MAX_REGIONS];
static int nregions;
static struct link links[MAX_REGIONS][MAX_REGIONS];
static int host_by_addr[256][256];           /* [region][host] -> host index + 1 */
static uint64_t pair_bytes[MAX_HOSTS][MAX_HOSTS];
static uint64_t unroutable, no_memory, write_errors, not_ipv4;
static struct pkt *free_list;
static long pool_left = 32768;
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static volatile sig_atomic_t stopping;

static uint64_t now_ns (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: loss decisions reproducible from the seed */
static uint64_t rng (void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1DULL;
}

static void die (const char *what) {
  fprintf(stderr, "wanrouter: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage (const char *msg) {
  fprintf(stderr, "wanrouter: %s\n", msg);
  exit(2);
}

static int region_index (int number, int create) {
  for (int i = 0; i < nregions; i++) if (region_numbers[i] == number) return i;
  if (!create) return -1;
  if (nregions == MAX_REGIONS) usage("too many regions");
  region_numbers[nregions] = number;
  return nregions++;
}

static struct pkt *pkt_alloc (void) {
  if (free_list != NULL) {
    struct pkt *p = free_list;
    free_list = p->next;
    return p;
  }
  if (pool_left <= 0) return NULL;
  struct pkt *p = malloc(sizeof *p);
  if (p != NULL) pool_left--;
  return p;
}

static void pkt_free (struct pkt *p) {
  p->next = free_list;
  free_list = p;
}

static int open_tun_in (const char *ns_path, int home_ns) {
  int ns = open(ns_path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die(ns_path);
  if (setns(ns, CLONE_NEWNET) < 0) die("setns");
  close(ns);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) die("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, "wan0", IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) die("TUNSETIFF");
  /* the device stays in the namespace it was created in; the fd works from anywhere */
  if (setns(home_ns, CLONE_NEWNET) < 0) die("setns back");
  return fd;
}

static void print_stats (void) {
  printf("{\"links\":[");
  int first = 1;
  for (int a = 0; a < nregions; a++) {
    for (int b = 0; b < nregions; b++) {
      struct link *l = &links[a][b];
      if (!l->configured) continue;
      printf("%s{\"from\":%d,\"to\":%d,\"packets\":%llu,\"bytes\":%llu,\"delivered\":%llu,\"lost\":%llu,\"queueDrops\":%llu,\"queued\":%llu}",
        first ? "" : ",", region_numbers[a], region_numbers[b],
        (unsigned long long)l->packets, (unsigned long long)l->bytes, (unsigned long long)l->delivered,
        (unsigned long long)l->lost, (unsigned long long)l->queue_drops, (unsigned long long)l->queued);
      first = 0;
    }
  }
  printf("],\"pairs\":[");
  first = 1;
  for (int s = 0; s < nhosts; s++) {
    for (int d = 0; d < nhosts; d++) {
      if (pair_bytes[s][d] == 0) continue;
      printf("%s[\"10.7.%d.%d\",\"10.7.%d.%d\",%llu]", first ? "" : ",",
        hosts[s].region, hosts[s].number, hosts[d].region, hosts[d].number, (unsigned long long)pair_bytes[s][d]);
      first = 0;
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec + ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
  printf("],\"unroutable\":%llu,\"notIpv4\":%llu,\"noMemory\":%llu,\"writeErrors\":%llu,\"cpuSeconds\":%.3f}\n",
    (unsigned long long)unroutable, (unsigned long long)not_ipv4, (unsigned long long)no_memory, (unsigned long long)write_errors, cpu);
  fflush(stdout);
}

/* One packet read from host `src`'s TUN: route it, and queue it on its link (or drop it). */
static void route (int src, struct pkt *p, uint64_t now) {
  const unsigned char *ip = p->data;
  if (p->len < 20 || (ip[0] >> 4) != 4) { not_ipv4++; pkt_free(p); return; }
  if (ip[16] != 10 || ip[17] != 7 || host_by_addr[ip[18]][ip[19]] == 0) { unroutable++; pkt_free(p); return; }
  int dst = host_by_addr[ip[18]][ip[19]] - 1;
  struct link *l = &links[hosts[src].rindex][hosts[dst].rindex];
  if (!l->configured) { unroutable++; pkt_free(p); return; }
  l->packets++;
  l->bytes += (uint64_t)p->len;
  pair_bytes[src][dst] += (uint64_t)p->len;
  if (l->loss_ppm > 0 && rng() % 1000000ULL < l->loss_ppm) { l->lost++; pkt_free(p); return; }
  uint64_t leave = now;
  if (l->rate_bps > 0) {
    uint64_t start = l->free_at_ns > now ? l->free_at_ns : now;
    /* tail drop: the packet would wait longer than the queue holds */
    if (start - now > l->queue_ns) { l->queue_drops++; pkt_free(p); return; }
    l->free_at_ns = start + (uint64_t)p->len * 1000000000ULL / l->rate_bps;
    leave = l->free_at_ns;
  }
  p->release_ns = leave + l->delay_ns;
  p->dst = dst;
  p->next = NULL;
  if (l->tail != NULL) l->tail->next = p; else l->head = p;
  l->tail = p;
  l->queued++;
}

/* Writes out every queued packet whose time has come; returns the earliest time still pending. */
static uint64_t release_due (uint64_t now) {
  uint64_t next = UINT64_MAX;
  for (int a = 0; a < nregions; a++) {
    for (int b = 0; b < nregions; b++) {
      struct link *l = &links[a][b];
      while (l->head != NULL && l->head->release_ns <= now) {
        struct pkt *p = l->head;
        l->head = p->next;
        if (l->head == NULL) l->tail = NULL;
        l->queued--;
        if (write(hosts[p->dst].fd, p->data, (size_t)p->len) < 0) write_errors++; else l->delivered++;
        pkt_free(p);
      }
      if (l->head != NULL && l->head->release_ns < next) next = l->head->release_ns;
    }
  }
  return next;
}

static void on_term (int sig) { (void)sig; stopping = 1; }

int main (int argc, char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* wake from poll close to the deadline: the delay is the point of this program */
  prctl(PR_SET_TIMERSLACK, 1000UL);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);

  int home_ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home_ns < 0) die("/proc/self/ns/net");

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "seed") == 0 && i + 1 < argc) {
      rng_state = strtoull(argv[++i], NULL, 10) * 0x9e3779b97f4a7c15ULL + 1;
    } else if (strcmp(argv[i], "pool") == 0 && i + 1 < argc) {
      pool_left = strtol(argv[++i], NULL, 10);
    } else if (strcmp(argv[i], "host") == 0 && i + 3 < argc) {
      int region = atoi(argv[i + 1]), number = atoi(argv[i + 2]);
      if (region < 1 || region > 254 || number < 1 || number > 254) usage("region and host must be 1..254");
      if (host_by_addr[region][number] != 0) usage("duplicate host");
      if (nhosts == MAX_HOSTS) usage("too many hosts");
      struct host *h = &hosts[nhosts];
      h->region = region;
      h->rindex = region_index(region, 1);
      h->number = number;
      h->fd = open_tun_in(argv[i + 3], home_ns);
      host_by_addr[region][number] = ++nhosts;
      i += 3;
    } else if (strcmp(argv[i], "link") == 0 && i + 6 < argc) {
      int a = region_index(atoi(argv[i + 1]), 1), b = region_index(atoi(argv[i + 2]), 1);
      struct link *l = &links[a][b];
      l->configured = 1;
      l->delay_ns = strtoull(argv[i + 3], NULL, 10) * 1000ULL;
      l->rate_bps = strtoull(argv[i + 4], NULL, 10);
      l->loss_ppm = (uint32_t)strtoul(argv[i + 5], NULL, 10);
      l->queue_ns = strtoull(argv[i + 6], NULL, 10) * 1000ULL;
      i += 6;
    } else {
      usage("bad arguments");
    }
  }
  if (nhosts == 0) usage("no hosts");

  struct pollfd *fds = calloc((size_t)nhosts + 1, sizeof *fds);
  if (fds == NULL) die("calloc");
  for (int h = 0; h < nhosts; h++) { fds[h].fd = hosts[h].fd; fds[h].events = POLLIN; }
  fds[nhosts].fd = STDIN_FILENO;
  fds[nhosts].events = POLLIN;
  printf("ready\n");
  fflush(stdout);

  char line[256];
  size_t line_len = 0;
  while (!stopping) {
    uint64_t now = now_ns();
    uint64_t next = release_due(now);
    struct timespec ts, *timeout = NULL;
    if (next != UINT64_MAX) {
      uint64_t wait = next > now ? next - now : 0;
      ts.tv_sec = (time_t)(wait / 1000000000ULL);
      ts.tv_nsec = (long)(wait % 1000000000ULL);
      timeout = &ts;
    }
    int n = ppoll(fds, (nfds_t)nhosts + 1, timeout, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("ppoll");
    }
    if (n == 0) continue;
    now = now_ns();
    for (int h = 0; h < nhosts; h++) {
      if (!(fds[h].revents & POLLIN)) continue;
      for (int k = 0; k < READ_BURST; k++) {
        struct pkt *p = pkt_alloc();
        if (p == NULL) {
          /* out of buffers: read into a scratch buffer and count the drop */
          unsigned char scratch[PKT_CAP];
          if (read(hosts[h].fd, scratch, sizeof scratch) < 0) break;
          no_memory++;
          continue;
        }
        ssize_t got = read(hosts[h].fd, p->data, PKT_CAP);
        if (got <= 0) { pkt_free(p); break; }
        p->len = (int)got;
        route(h, p, now);
      }
    }
    if (fds[nhosts].revents & (POLLIN | POLLHUP)) {
      ssize_t got = read(STDIN_FILENO, line + line_len, sizeof line - 1 - line_len);
      if (got <= 0) break;  /* the orchestrator went away */
      line_len += (size_t)got;
      line[line_len] = 0;
      char *nl;
      while ((nl = strchr(line, '\n')) != NULL) {
        *nl = 0;
        if (strcmp(line, "stats") == 0) print_stats();
        memmove(line, nl + 1, strlen(nl + 1) + 1);
        line_len = strlen(line);
      }
      if (line_len == sizeof line - 1) line_len = 0;
    }
  }
  return 0;
}
