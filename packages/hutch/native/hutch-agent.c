/*
 * hutch-agent: the exec agent inside a sandbox of the host tiers. It runs in the sandbox (every
 * namespace, the cgroups, the seccomp filter and the capabilities of an exec'd root command) and
 * starts commands there on request, so an exec costs a connect and a fork instead of a host
 * process that has to enter the sandbox first.
 *
 *   hutch-agent [-f FD] [-1]
 *
 * FD (default 3) is a listening unix stream socket made by the host before the agent entered the
 * sandbox; its path is on the host only, so nothing inside the sandbox can reach it. Every other
 * fd above 2 is closed at start (the container tier passes this binary's own fd as 4). The agent
 * detaches (fork; the first process exits 0 once the second runs), points 0-2 at /dev/null and
 * keeps one spare handler process waiting in accept(): one connection is one command, served by
 * the handler that took it, which vforks the command.
 *
 * With -1 the agent is the sandbox's init (pid 1 of its pid namespace: the container tier's
 * `crun run`): it does not detach, and besides its handlers it reaps every orphan re-parented to
 * it (SA_NOCLDWAIT below covers adopted children as well as its own). The kernel delivers to a
 * namespace's init only the signals it has a handler for, and SIGKILL/SIGSTOP only from an
 * ancestor namespace, so nothing inside can kill it. Its one handler is for SIGTERM (`crun kill`),
 * and it exits only on a SIGTERM sent from outside the namespace (kill(2) from a sender it cannot
 * see: SI_USER with sender pid 0); one sent from inside is ignored. When it exits, the kernel
 * kills everything else in the namespace.
 *
 * Frames, both ways: 1 byte type, 4 bytes little-endian payload length, payload.
 *   host → agent  'R' request (first frame): NUL-terminated fields
 *                     version(1) uid gid cwd flags(bit 0 pty, bit 1 shell) cols rows
 *                     argc argv... envc env...
 *                 'I' stdin bytes      'C' end of stdin (a pty gets ^D)
 *                 'K' signal: int32 signo, 1 byte: also to the command's process group
 *                 'W' pty size: uint16 cols, uint16 rows
 *   agent → host  'P' started: int32 pid (in the sandbox's pid namespace)
 *                 'O' stdout (or pty) bytes   'E' stderr bytes
 *                 'X' exit: int32 kind (0 exited, 1 killed by a signal), int32 code or signo
 *                 'F' could not start: a message
 * The command gets its own session (and the pty as controlling terminal), default signal
 * dispositions, no fds but 0-2, the requested ids (supplementary groups cleared) and exactly the
 * requested environment, plus PWD and OLDPWD as the former `sh` wrapper's `cd` set them. A cwd that cannot be entered exits 126, a missing command 127, with the
 * same messages as hutch-launch. Output is read only while less than OUT_HIGH bytes wait for the
 * host, so a slow host slows the command instead of growing memory. The exit frame is sent once
 * the command has exited and its output has ended (or GRACE_MS after the exit, when a background
 * job keeps the pipes open); the handler then waits for the host to close the connection. If the
 * host goes away, the command keeps running and its output is dropped.
 *
 * Build: gcc -static -O2 -Wall -o hutch-agent hutch-agent.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define MAX_REQUEST (4 << 20)
#define MAX_FRAME (1 << 20)
#define OUT_HIGH (1 << 20)
#define STDIN_HIGH (4 << 20)
#define CHUNK 65536
#define GRACE_MS 500
#define LINGER_MS 10000


/* ---- byte queues ---------------------------------------------------------------------------- */

struct queue { char *data; size_t head, len, cap; };

static void q_push(struct queue *q, const void *bytes, size_t n) {
  if (q->head > 0 && q->head + q->len + n > q->cap) {
    memmove(q->data, q->data + q->head, q->len);
    q->head = 0;
  }
  if (q->len + n > q->cap) {
    size_t cap = q->cap ? q->cap : 4096;
    while (cap < q->len + n) cap *= 2;
    char *grown = realloc(q->data, cap);
    if (!grown) _exit(70);
    q->data = grown;
    q->cap = cap;
  }
  memcpy(q->data + q->head + q->len, bytes, n);
  q->len += n;
}

static void q_drop(struct queue *q, size_t n) {
  q->head += n;
  q->len -= n;
  if (q->len == 0) q->head = 0;
}

static void q_clear(struct queue *q) {
  q->head = q->len = 0;
}

static void put_u32(char *p, uint32_t v) {
  p[0] = (char)(v & 0xff); p[1] = (char)((v >> 8) & 0xff); p[2] = (char)((v >> 16) & 0xff); p[3] = (char)(v >> 24);
}

static uint32_t get_u32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

static void q_frame(struct queue *q, char type, const void *payload, size_t n) {
  char head[5];
  head[0] = type;
  put_u32(head + 1, (uint32_t)n);
  q_push(q, head, 5);
  if (n) q_push(q, payload, n);
}

/* ---- the request ------------------------------------------------------------------------------ */

struct request {
  int uid, gid, pty, shell, cols, rows;
  char *cwd;
  char **argv, **envp;
};

/* Next NUL-terminated field of [*p, end), or NULL. */
static char *field(char **p, char *end) {
  char *start = *p, *nul = memchr(start, '\0', (size_t)(end - start));
  if (!nul) return NULL;
  *p = nul + 1;
  return start;
}

static int number(char **p, char *end, long max, int *out) {
  char *s = field(p, end), *stop;
  if (!s || !*s) return -1;
  errno = 0;
  long v = strtol(s, &stop, 10);
  if (errno || *stop || v < 0 || v > max) return -1;
  *out = (int)v;
  return 0;
}

static char **strings(char **p, char *end) {
  int n;
  if (number(p, end, 1 << 16, &n) != 0) return NULL;
  char **list = calloc((size_t)n + 1, sizeof *list);
  if (!list) return NULL;
  for (int i = 0; i < n; i++) if (!(list[i] = field(p, end))) return NULL;
  return list;
}

/* Parses a request payload in place; 0 when well formed. */
static int parse_request(char *p, size_t len, struct request *r) {
  char *end = p + len;
  int version, flags;
  if (number(&p, end, 1000, &version) != 0 || version != 1) return -1;
  if (number(&p, end, 0x7fffffff, &r->uid) || number(&p, end, 0x7fffffff, &r->gid)) return -1;
  if (!(r->cwd = field(&p, end)) || r->cwd[0] != '/') return -1;
  if (number(&p, end, 3, &flags) || number(&p, end, 65535, &r->cols) || number(&p, end, 65535, &r->rows)) return -1;
  r->pty = flags & 1;
  r->shell = (flags >> 1) & 1;
  if (!(r->argv = strings(&p, end)) || !r->argv[0]) return -1;
  if (!(r->envp = strings(&p, end))) return -1;
  return p == end ? 0 : -1;
}

/* ---- the command ------------------------------------------------------------------------------- */

/*
 * The command's environment: the request's, with PWD and OLDPWD as `cd` in the former `sh` wrapper
 * left them. Built before the vfork below, so the child only makes system calls.
 */
static char **command_env(struct request *r) {
  size_t n = 0;
  while (r->envp[n]) n++;
  char **env = calloc(n + 3, sizeof *env);
  char *pwd = malloc(strlen(r->cwd) + 5);
  if (!env || !pwd) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (strncmp(r->envp[i], "PWD=", 4) != 0 && strncmp(r->envp[i], "OLDPWD=", 7) != 0) env[k++] = r->envp[i];
  }
  strcpy(pwd, "PWD=");
  strcat(pwd, r->cwd);
  env[k++] = pwd;
  env[k++] = "OLDPWD=/";
  return env;
}

/* In the vforked child: a message on its stderr (no stdio, no malloc), then exit. */
static void child_fail(const char *what, const char *detail, int code) {
  char line[512];
  int len = snprintf(line, sizeof line, "hutch-exec: %s: %s\n", what, detail);
  if (len > 0 && write(STDERR_FILENO, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1) < 0) { /* nowhere to report */ }
  _exit(code);
}

/* What the vforked child execs: argv and env are ready, the shell is chosen. */
struct launch { struct request *r; char **argv; char **env; int in, out, err; const char *pts; };

/*
 * In the child (vfork: it borrows the handler's memory until it execs, so it only makes system
 * calls and writes nothing the handler reads): becomes the command, never returns.
 */
static void exec_command(struct launch *l) {
  struct request *r = l->r;
  int in = l->in, out = l->out, err = l->err;
  setsid();
  if (l->pts) {
    int slave = open(l->pts, O_RDWR);
    if (slave < 0) _exit(125);
    ioctl(slave, TIOCSCTTY, 0);
    in = out = err = slave;
  }
  if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0) _exit(125);
  /* The agent left every disposition at its default but SIGPIPE (see main); exec resets handlers. */
  signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (syscall(SYS_close_range, 3U, ~0U, 0) != 0) for (int fd = 3; fd < 1024; fd++) close(fd);
  /* The agent is shielded from the OOM killer where the host allows; its commands are not. */
  int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (adj >= 0) {
    if (write(adj, "0", 1) < 0) { /* left as inherited */ }
    close(adj);
  }
  gid_t g = (gid_t)r->gid;
  if (setgroups(0, NULL) != 0 || setresgid(g, g, g) != 0 || setresuid((uid_t)r->uid, (uid_t)r->uid, (uid_t)r->uid) != 0) child_fail("setuid", strerror(errno), 125);
  if (chdir(r->cwd) != 0) {
    char what[300];
    snprintf(what, sizeof what, "cd: %s", r->cwd);
    child_fail(what, strerror(errno), 126);
  }
  if (r->shell) {
    execve(l->argv[0], l->argv, l->env);
    child_fail(l->argv[0], strerror(errno), errno == ENOENT ? 127 : 126);
  }
  execvpe(l->argv[0], l->argv, l->env);
  int e = errno;
  child_fail(l->argv[0], e == ENOENT ? "not found" : strerror(e), e == ENOENT || e == ENOTDIR ? 127 : 126);
}

/* ---- one connection ---------------------------------------------------------------------------- */

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Reads one whole frame (blocking, before the command starts); its payload, or NULL. */
static char *read_frame(int fd, char *type, size_t *len, size_t max) {
  char head[5];
  size_t got = 0;
  while (got < 5) {
    ssize_t n = read(fd, head + got, 5 - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    got += (size_t)n;
  }
  *type = head[0];
  *len = get_u32(head + 1);
  if (*len > max) return NULL;
  char *payload = malloc(*len + 1);
  if (!payload) return NULL;
  for (got = 0; got < *len;) {
    ssize_t n = read(fd, payload + got, *len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return NULL;
    got += (size_t)n;
  }
  return payload;
}

static void send_all(int fd, struct queue *q) {
  while (q->len > 0) {
    ssize_t n = write(fd, q->data + q->head, q->len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    q_drop(q, (size_t)n);
  }
}

static void fail_request(int conn, const char *message) {
  struct queue q = { 0 };
  q_frame(&q, 'F', message, strlen(message));
  send_all(conn, &q);
  _exit(0);
}

static void handle(int conn) {
  char type;
  size_t len;
  char *payload = read_frame(conn, &type, &len, MAX_REQUEST);
  struct request r;
  if (!payload || type != 'R') _exit(0);
  if (parse_request(payload, len, &r) != 0) fail_request(conn, "malformed request");

  int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, master = -1;
  const char *pts = NULL;
  if (r.pty) {
    master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || !(pts = ptsname(master))) fail_request(conn, "cannot open a pty in the sandbox");
    struct winsize ws = { .ws_row = (unsigned short)(r.rows ? r.rows : 24), .ws_col = (unsigned short)(r.cols ? r.cols : 80) };
    ioctl(master, TIOCSWINSZ, &ws);
  } else if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    fail_request(conn, "cannot create pipes in the sandbox");
  }

  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) fail_request(conn, "signalfd failed");

  struct launch l = { &r, r.argv, command_env(&r), in[0], out[1], err[1], pts };
  char *shell_argv[4] = { "/bin/bash", "-lc", r.argv[0], NULL };
  if (r.shell) {
    if (access(shell_argv[0], X_OK) != 0) { shell_argv[0] = "/bin/sh"; shell_argv[1] = "-c"; }
    l.argv = shell_argv;
  }
  if (!l.env) fail_request(conn, "out of memory in the sandbox");
  /* vfork: no copy of the handler's page tables, which is most of a fork's cost on virtual hosts. */
  pid_t child = vfork();
  if (child < 0) fail_request(conn, "fork failed in the sandbox");
  if (child == 0) exec_command(&l);

  /* Our ends: stdin writer, stdout/stderr readers (for a pty, the master is all three). */
  int stdin_fd = master >= 0 ? master : in[1];
  int out_fd = master >= 0 ? master : out[0];
  int err_fd = master >= 0 ? -1 : err[0];
  if (master < 0) { close(in[0]); close(out[1]); close(err[1]); }
  set_nonblock(conn);
  set_nonblock(stdin_fd);
  set_nonblock(out_fd);
  if (err_fd >= 0) set_nonblock(err_fd);

  struct queue toHost = { 0 }, toStdin = { 0 }, fromHost = { 0 };
  int32_t pid32 = (int32_t)child;
  char pidbuf[4];
  put_u32(pidbuf, (uint32_t)pid32);
  q_frame(&toHost, 'P', pidbuf, 4);

  int host_open = 1, exited = 0, status = 0, stdin_end = 0;
  long exited_at = 0;
  char buf[CHUNK];
  for (;;) {
    int outputs_open = out_fd >= 0 || err_fd >= 0;
    if (exited && (!outputs_open || now_ms() - exited_at >= GRACE_MS)) break;
    struct pollfd p[5];
    int n = 0, ic = -1, io = -1, ie = -1, is = -1, ig;
    p[n] = (struct pollfd){ sfd, POLLIN, 0 }; ig = n++;
    if (host_open) {
      short ev = (toHost.len > 0 ? POLLOUT : 0) | (toStdin.len < STDIN_HIGH ? POLLIN : 0);
      p[n] = (struct pollfd){ conn, ev, 0 }; ic = n++;
    }
    if (out_fd >= 0 && toHost.len < OUT_HIGH) { p[n] = (struct pollfd){ out_fd, POLLIN, 0 }; io = n++; }
    if (err_fd >= 0 && toHost.len < OUT_HIGH) { p[n] = (struct pollfd){ err_fd, POLLIN, 0 }; ie = n++; }
    if (stdin_fd >= 0 && toStdin.len > 0) { p[n] = (struct pollfd){ stdin_fd, POLLOUT, 0 }; is = n++; }
    int timeout = exited ? (int)(GRACE_MS - (now_ms() - exited_at)) : -1;
    if (exited && timeout < 0) timeout = 0;
    if (poll(p, (nfds_t)n, timeout) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (p[ig].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {}
      int st;
      if (!exited && waitpid(child, &st, WNOHANG) == child) { exited = 1; status = st; exited_at = now_ms(); }
    }
    /* Output of the command (a pty master reads EIO once the last slave holder is gone). */
    int *srcs[2] = { &out_fd, &err_fd };
    int idx[2] = { io, ie };
    for (int s = 0; s < 2; s++) {
      if (idx[s] < 0 || !(p[idx[s]].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(*srcs[s], buf, sizeof buf);
      if (got > 0) {
        if (host_open) q_frame(&toHost, s == 0 ? 'O' : 'E', buf, (size_t)got);
      } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
        if (*srcs[s] != master) close(*srcs[s]);
        *srcs[s] = -1;
      }
    }
    /* Stdin of the command. */
    if (is >= 0 && (p[is].revents & (POLLOUT | POLLERR | POLLHUP)) && stdin_fd >= 0) {
      while (toStdin.len > 0) {
        ssize_t w = write(stdin_fd, toStdin.data + toStdin.head, toStdin.len);
        if (w > 0) { q_drop(&toStdin, (size_t)w); continue; }
        if (w < 0 && errno == EAGAIN) break;
        q_clear(&toStdin); /* the command closed its stdin: drop what it will never read */
        if (master < 0) { close(stdin_fd); stdin_fd = -1; }
        break;
      }
    }
    if (ic >= 0 && (p[ic].revents & POLLOUT) && toHost.len > 0) {
      ssize_t w = write(conn, toHost.data + toHost.head, toHost.len);
      if (w > 0) q_drop(&toHost, (size_t)w);
      else if (w < 0 && errno != EAGAIN && errno != EINTR) { host_open = 0; q_clear(&toHost); }
    }
    if (ic >= 0 && (p[ic].revents & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t got = read(conn, buf, sizeof buf);
      if (got > 0) q_push(&fromHost, buf, (size_t)got);
      else if (got == 0 || (errno != EAGAIN && errno != EINTR)) { host_open = 0; q_clear(&toHost); }
    }
    /* Frames from the host. */
    while (fromHost.len >= 5) {
      char *f = fromHost.data + fromHost.head;
      uint32_t flen = get_u32(f + 1);
      if (flen > MAX_FRAME) { host_open = 0; q_clear(&fromHost); q_clear(&toHost); break; }
      if (fromHost.len < 5 + flen) break;
      char *body = f + 5;
      switch (f[0]) {
        case 'I':
          if (stdin_fd >= 0 && !stdin_end) q_push(&toStdin, body, flen);
          break;
        case 'C':
          if (master >= 0) q_push(&toStdin, "\004", 1);
          else stdin_end = 1;
          break;
        case 'K':
          if (flen >= 5 && !exited) {
            int sig = (int)get_u32(body);
            kill(child, sig);
            if (body[4]) kill(-child, sig);
          }
          break;
        case 'W':
          if (flen >= 4 && master >= 0) {
            const unsigned char *u = (const unsigned char *)body;
            struct winsize ws = { .ws_col = (unsigned short)(u[0] | u[1] << 8), .ws_row = (unsigned short)(u[2] | u[3] << 8) };
            ioctl(master, TIOCSWINSZ, &ws);
          }
          break;
        default:
          break;
      }
      q_drop(&fromHost, 5 + flen);
    }
    if (stdin_end && toStdin.len == 0 && master < 0 && stdin_fd >= 0) { close(stdin_fd); stdin_fd = -1; }
  }

  if (!host_open) _exit(0);
  char exitbuf[8];
  if (WIFSIGNALED(status)) { put_u32(exitbuf, 1); put_u32(exitbuf + 4, (uint32_t)WTERMSIG(status)); }
  else { put_u32(exitbuf, 0); put_u32(exitbuf + 4, (uint32_t)WEXITSTATUS(status)); }
  q_frame(&toHost, 'X', exitbuf, 8);
  int flags = fcntl(conn, F_GETFL);
  fcntl(conn, F_SETFL, flags & ~O_NONBLOCK);
  send_all(conn, &toHost);
  /* Closing now could reset the connection under a frame the host is still sending (a late
   * end-of-stdin), and a reset makes the host drop the exit frame unread: wait for its close. */
  shutdown(conn, SHUT_WR);
  struct pollfd hp = { conn, POLLIN, 0 };
  while (poll(&hp, 1, LINGER_MS) > 0 && read(conn, buf, sizeof buf) > 0) {}
  _exit(0);
}

/* ---- main ----------------------------------------------------------------------------------- */

/* Pid 1 only: a SIGTERM from outside the pid namespace (the runtime) ends the sandbox. */
static void on_term(int sig, siginfo_t *si, void *uc) {
  (void)sig; (void)uc;
  if (si->si_code == SI_USER && si->si_pid == 0) _exit(0);
}

int main(int argc, char **argv) {
  int lfd = 3, init = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-f") == 0 && i + 1 < argc) lfd = atoi(argv[++i]);
    else if (strcmp(argv[i], "-1") == 0) init = 1;
    else { fprintf(stderr, "usage: hutch-agent [-f FD] [-1]\n"); return 2; }
  }
  if (fcntl(lfd, F_SETFD, FD_CLOEXEC) != 0) { perror("hutch-agent: listening fd"); return 1; }
  /* Nothing else the starter passed stays open (the container tier's fd of this very binary). */
  if (lfd > 3) syscall(SYS_close_range, 3U, (unsigned)lfd - 1, 0U);
  syscall(SYS_close_range, (unsigned)lfd + 1, ~0U, 0U);
  /* Not dumpable: nothing in the sandbox without CAP_SYS_PTRACE reads the agent's /proc files
   * (exe, fd, environ); its commands are dumpable again once they exec. */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (!init) {
    pid_t first = fork();
    if (first < 0) { perror("hutch-agent: fork"); return 1; }
    if (first > 0) _exit(0);
  }
  setsid(); /* an init the runtime made a session leader already: EPERM, nothing to do */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
  /* Commands start from default dispositions: whatever the starter ignored is restored here, once. */
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  if (init) {
    struct sigaction term = { .sa_sigaction = on_term, .sa_flags = SA_SIGINFO | SA_RESTART };
    sigaction(SIGTERM, &term, NULL);
  }
  /* Handlers (and, as pid 1, orphans) are never waited for: the kernel reaps them, no zombies.
   * Each handler restores SIGCHLD for its command. */
  struct sigaction reap = { .sa_handler = SIG_DFL, .sa_flags = SA_NOCLDWAIT };
  sigaction(SIGCHLD, &reap, NULL);
  /*
   * A spare handler always waits in accept(), so the fork for a connection happens after the
   * connection is taken, beside the command instead of in front of it. Each spare tells the agent
   * it took one by a byte on a pipe (or by dying, which closes the pipe); then the agent forks the
   * next spare.
   */
  for (;;) {
    int took[2];
    if (pipe2(took, O_CLOEXEC) != 0) { usleep(10000); continue; }
    pid_t agent = getpid();
    pid_t spare = fork();
    if (spare == 0) {
      if (init) signal(SIGTERM, SIG_DFL);
      close(took[0]);
      /* A spare dies with the agent: killing the agent from inside must leave nobody accepting. */
      if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != agent) _exit(0);
      int conn;
      for (;;) {
        conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (conn >= 0) break;
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) { usleep(10000); continue; }
        _exit(1);
      }
      /* From here on this is a handler: its command outlives the agent, so does it. */
      prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
      if (write(took[1], "a", 1) < 0) { /* the agent is gone: serve this one anyway */ }
      close(took[1]);
      close(lfd);
      struct sigaction dfl = { .sa_handler = SIG_DFL };
      sigaction(SIGCHLD, &dfl, NULL);
      handle(conn);
      _exit(0);
    }
    close(took[1]);
    char b;
    ssize_t n = -1;
    while (spare > 0 && (n = read(took[0], &b, 1)) < 0 && errno == EINTR) {}
    close(took[0]);
    /* No fork, or a spare that died without a connection (accept failing): do not spin. */
    if (n != 1) usleep(10000);
  }
}
