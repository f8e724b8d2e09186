/*
 * wanping: ICMP echo round trips, for measuring the emulated WAN (the machine has no
 * iputils ping). Sends `count` echo requests to an IPv4 address, one every `interval` ms,
 * waits up to `timeout` ms for each reply, and prints one JSON line:
 *   {"sent":N,"received":M,"rttUs":[...]}
 * The reply comes from the destination namespace's kernel, so this is the same round trip
 * `ping` measures. Needs a raw socket (root, or CAP_NET_RAW in the namespace).
 *
 * Usage: wanping <address> <count> <interval ms> <timeout ms>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us (void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

static uint16_t checksum (const void *data, size_t len) {
  const uint16_t *w = data;
  uint32_t sum = 0;
  for (; len > 1; len -= 2) sum += *w++;
  if (len == 1) sum += *(const uint8_t *)w;
  sum = (sum >> 16) + (sum & 0xffff);
  sum += sum >> 16;
  return (uint16_t)~sum;
}

int main (int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: wanping <address> <count> <interval ms> <timeout ms>\n");
    return 2;
  }
  struct sockaddr_in to = { .sin_family = AF_INET };
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) { fprintf(stderr, "wanping: bad address\n"); return 2; }
  int count = atoi(argv[2]), interval_ms = atoi(argv[3]), timeout_ms = atoi(argv[4]);
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  if (fd < 0) { perror("wanping: socket"); return 1; }
  uint16_t ident = (uint16_t)getpid();
  int received = 0;
  printf("{\"rttUs\":[");
  for (int seq = 0; seq < count; seq++) {
    unsigned char pkt[64];
    memset(pkt, 0, sizeof pkt);
    struct icmphdr *icmp = (struct icmphdr *)pkt;
    icmp->type = ICMP_ECHO;
    icmp->un.echo.id = htons(ident);
    icmp->un.echo.sequence = htons((uint16_t)seq);
    icmp->checksum = checksum(pkt, sizeof pkt);
    uint64_t sent = now_us();
    if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to) < 0) { perror("wanping: sendto"); return 1; }
    uint64_t deadline = sent + (uint64_t)timeout_ms * 1000ULL;
    for (;;) {
      uint64_t t = now_us();
      if (t >= deadline) break;
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (poll(&p, 1, (int)((deadline - t + 999) / 1000)) <= 0) continue;
      unsigned char buf[1500];
      ssize_t got = recv(fd, buf, sizeof buf, 0);
      uint64_t at = now_us();
      if (got < (ssize_t)sizeof(struct iphdr)) continue;
      struct iphdr *ip = (struct iphdr *)buf;
      size_t hl = (size_t)ip->ihl * 4;
      if ((size_t)got < hl + sizeof(struct icmphdr)) continue;
      struct icmphdr *reply = (struct icmphdr *)(buf + hl);
      if (reply->type != ICMP_ECHOREPLY || ntohs(reply->un.echo.id) != ident || ntohs(reply->un.echo.sequence) != (uint16_t)seq) continue;
      printf("%s%llu", received == 0 ? "" : ",", (unsigned long long)(at - sent));
      received++;
      break;
    }
    if (seq + 1 < count) {
      uint64_t next = sent + (uint64_t)interval_ms * 1000ULL;
      uint64_t t = now_us();
      if (next > t) usleep((useconds_t)(next - t));
    }
  }
  printf("],\"sent\":%d,\"received\":%d}\n", count, received);
  return 0;
}
