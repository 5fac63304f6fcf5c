// MSG_ZEROCOPY against a plain send for 64 KiB responses over loopback TCP (issue 20, item 1):
// a request/response exchange as a proxy's client side sees it. The "client" process sends a
// 1-byte request, reads the 64 KiB response whole, and repeats; the "server" (the proxy's role)
// answers each request with one non-blocking send of 64 KiB, waiting for POLLOUT on a short
// write, and with MSG_ZEROCOPY reads the completions from the socket's error queue before it
// reuses a buffer. Prints the CPU per response of each process. Not a test; see README.
//   cc -O2 -o /tmp/zerocopy_loopback tests/bench/zerocopy_loopback.c
//   /tmp/zerocopy_loopback 0 200000; /tmp/zerocopy_loopback 1 200000
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

enum { kChunk = 65536, kBuffers = 16 };

static double seconds(const struct rusage* u) {
  return u->ru_utime.tv_sec + u->ru_stime.tv_sec +
         (u->ru_utime.tv_usec + u->ru_stime.tv_usec) / 1e6;
}

// Reads whatever completions are queued; returns how many sends they cover, and counts the
// notifications whose data the kernel copied after all.
static long completions(int s, long* copied, long* notes) {
  long done = 0;
  for (;;) {
    char ctl[128];
    struct msghdr m = {.msg_control = ctl, .msg_controllen = sizeof ctl};
    if (recvmsg(s, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return done;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    struct sock_extended_err* e = (struct sock_extended_err*)CMSG_DATA(cm);
    done += (long)e->ee_data - (long)e->ee_info + 1;
    ++*notes;
    if (e->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) ++*copied;
  }
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ZEROCOPY(0|1) RESPONSES\n", argv[0]);
    return 2;
  }
  int zc = atoi(argv[1]);
  long responses = atol(argv[2]);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t al = sizeof a;
  if (bind(l, (struct sockaddr*)&a, sizeof a) || listen(l, 1) ||
      getsockname(l, (struct sockaddr*)&a, &al)) {
    perror("listen");
    return 1;
  }
  pid_t client = fork();
  if (client == 0) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c, (struct sockaddr*)&a, sizeof a)) _exit(1);
    char* b = malloc(kChunk);
    for (long i = 0; i < responses; ++i) {
      if (write(c, "q", 1) != 1) _exit(1);
      for (long got = 0; got < kChunk;) {
        ssize_t n = read(c, b, kChunk);
        if (n <= 0) _exit(1);
        got += n;
      }
    }
    _exit(0);
  }
  int s = accept(l, NULL, NULL);
  int one = 1;
  if (zc && setsockopt(s, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one)) {
    perror("SO_ZEROCOPY");
    return 1;
  }
  char* buf = malloc((size_t)kBuffers * kChunk);
  memset(buf, 'x', (size_t)kBuffers * kChunk);
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  long pending = 0, copied = 0, notes = 0;
  for (long i = 0; i < responses; ++i) {
    char q;
    if (read(s, &q, 1) != 1) return 1;
    if (zc) pending -= completions(s, &copied, &notes);
    while (zc && pending >= kBuffers - 1) {  // every buffer still in the kernel's hands
      struct pollfd p = {s, 0, 0};
      poll(&p, 1, 100);
      pending -= completions(s, &copied, &notes);
    }
    const char* data = buf + (i % kBuffers) * kChunk;
    for (size_t off = 0; off < kChunk;) {
      ssize_t n = send(s, data + off, kChunk - off, MSG_DONTWAIT | (zc ? MSG_ZEROCOPY : 0));
      if (n < 0) {
        if (errno != EAGAIN && errno != ENOBUFS) return 1;
        struct pollfd p = {s, POLLOUT, 0};
        poll(&p, 1, 100);
        continue;
      }
      off += (size_t)n;
      if (zc) ++pending;
    }
  }
  getrusage(RUSAGE_SELF, &after);
  int status;
  struct rusage cr;
  wait4(client, &status, 0, &cr);
  printf("%-12s %ld responses of 64 KiB: server %.2f us, client %.2f us of CPU per response%s\n",
         zc ? "MSG_ZEROCOPY" : "send", responses, (seconds(&after) - seconds(&before)) * 1e6 / responses,
         seconds(&cr) * 1e6 / responses,
         zc ? (copied == notes ? " (every completion: copied by the kernel)" : "") : "");
  return 0;
}
