/*
 * hutch egress shim: LD_PRELOAD'ed into slirp4netns (never into a sandbox). slirp4netns is the
 * only way out of a sandbox's network namespace; this shim turns every outbound socket operation
 * it makes into Hutch's egress path:
 *
 * - TCP connect() to an IPv4 address: the socket is replaced (dup2) by a unix stream socket
 *   connected to HUTCH_EGRESS_SOCKET, and the line "HUTCH1 <ip> <port>\n" is written first, so
 *   the egress proxy knows the original destination (Node cannot read SO_ORIGINAL_DST).
 * - UDP to port 53 (any address): sent to the proxy's resolver at 127.0.0.1:HUTCH_EGRESS_DNS_PORT;
 *   replies are reported as coming from the address the sandbox asked.
 * - everything else fails closed: other UDP, IPv6, raw and ICMP sockets get EACCES.
 *
 * Fails closed: without HUTCH_EGRESS_SOCKET every outbound connect fails.
 * Build: gcc -shared -fPIC -O2 -o hutch-egress-shim.so egress-shim.c -ldl
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 65536

static int (*real_connect)(int, const struct sockaddr *, socklen_t);
static int (*real_socket)(int, int, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);

/* Per UDP fd: the destination the sandbox asked for, reported as the source of replies. */
static struct sockaddr_in dns_orig[MAX_FDS];

__attribute__((constructor)) static void init(void) {
  real_connect = dlsym(RTLD_NEXT, "connect");
  real_socket = dlsym(RTLD_NEXT, "socket");
  real_sendto = dlsym(RTLD_NEXT, "sendto");
  real_sendmsg = dlsym(RTLD_NEXT, "sendmsg");
  real_recvfrom = dlsym(RTLD_NEXT, "recvfrom");
  real_recvmsg = dlsym(RTLD_NEXT, "recvmsg");
}

static int sock_type(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return -1;
  return type;
}

static int dns_port(void) {
  const char *p = getenv("HUTCH_EGRESS_DNS_PORT");
  return p ? atoi(p) : 0;
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

int socket(int domain, int type, int protocol) {
  int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (domain == AF_INET6 || (domain == AF_INET && (base == SOCK_RAW || protocol == IPPROTO_ICMP))) {
    errno = EACCES;
    return -1;
  }
  return real_socket(domain, type, protocol);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
  if (addr == NULL || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6)) return real_connect(fd, addr, len);
  int type = sock_type(fd);
  if (addr->sa_family == AF_INET6 || (type != SOCK_STREAM && type != SOCK_DGRAM)) {
    errno = EACCES;
    return -1;
  }
  if (type == SOCK_DGRAM) {
    errno = EACCES; /* connected UDP is not used by slirp; refuse rather than bypass sendto */
    return -1;
  }
  const char *path = getenv("HUTCH_EGRESS_SOCKET");
  if (path == NULL || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    errno = ENETUNREACH;
    return -1;
  }
  const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
  char ip[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
  char header[64];
  int hlen = snprintf(header, sizeof header, "HUTCH1 %s %u\n", ip, (unsigned)ntohs(in->sin_port));

  int flags = fcntl(fd, F_GETFL);
  int fdflags = fcntl(fd, F_GETFD);
  int u = real_socket(AF_UNIX, SOCK_STREAM, 0);
  if (u < 0) return -1;
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  strcpy(sun.sun_path, path);
  if (real_connect(u, (struct sockaddr *)&sun, sizeof sun) < 0 || write_all(u, header, (size_t)hlen) < 0) {
    int e = errno;
    close(u);
    errno = (e == ENOENT || e == ECONNREFUSED) ? ECONNREFUSED : e;
    return -1;
  }
  if (dup2(u, fd) < 0) {
    int e = errno;
    close(u);
    errno = e;
    return -1;
  }
  close(u);
  if (flags >= 0) fcntl(fd, F_SETFL, flags);
  if (fdflags >= 0) fcntl(fd, F_SETFD, fdflags);
  return 0;
}

/* Rewrites a UDP destination: port 53 goes to the proxy's resolver; anything else is refused. */
static int redirect_udp(int fd, const struct sockaddr *addr, struct sockaddr_in *out) {
  if (addr == NULL) return 0;
  if (addr->sa_family == AF_INET6) return -1;
  if (addr->sa_family != AF_INET) return 0;
  const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
  int port = dns_port();
  if (ntohs(in->sin_port) != 53 || port <= 0) return -1;
  if (fd >= 0 && fd < MAX_FDS) dns_orig[fd] = *in;
  memset(out, 0, sizeof *out);
  out->sin_family = AF_INET;
  out->sin_port = htons((unsigned short)port);
  out->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return 1;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t alen) {
  struct sockaddr_in out;
  int r = redirect_udp(fd, addr, &out);
  if (r < 0) {
    errno = EACCES;
    return -1;
  }
  if (r > 0) return real_sendto(fd, buf, len, flags, (struct sockaddr *)&out, sizeof out);
  return real_sendto(fd, buf, len, flags, addr, alen);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  struct sockaddr_in out;
  int r = redirect_udp(fd, msg ? (const struct sockaddr *)msg->msg_name : NULL, &out);
  if (r < 0) {
    errno = EACCES;
    return -1;
  }
  if (r > 0) {
    struct msghdr copy = *msg;
    copy.msg_name = &out;
    copy.msg_namelen = sizeof out;
    return real_sendmsg(fd, &copy, flags);
  }
  return real_sendmsg(fd, msg, flags);
}

/* A reply from the resolver is reported as coming from the address the sandbox asked. */
static void unredirect(int fd, struct sockaddr *addr, socklen_t *alen) {
  if (addr == NULL || alen == NULL || *alen < sizeof(struct sockaddr_in) || addr->sa_family != AF_INET) return;
  struct sockaddr_in *in = (struct sockaddr_in *)addr;
  int port = dns_port();
  if (port > 0 && ntohs(in->sin_port) == port && in->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && fd >= 0 && fd < MAX_FDS && dns_orig[fd].sin_family == AF_INET) {
    *in = dns_orig[fd];
  }
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *alen) {
  ssize_t n = real_recvfrom(fd, buf, len, flags, addr, alen);
  if (n >= 0) unredirect(fd, addr, alen);
  return n;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  ssize_t n = real_recvmsg(fd, msg, flags);
  if (n >= 0 && msg) unredirect(fd, (struct sockaddr *)msg->msg_name, &msg->msg_namelen);
  return n;
}
