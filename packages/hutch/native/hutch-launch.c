/*
 * hutch-launch: the process tier's launcher (replaces `perl -e PRELUDE` + `nsenter` + the `sh`
 * wrapper on every exec, and the Perl prelude in front of the init's bwrap). One small static
 * binary, so a launch costs one exec instead of four, and no dynamic loader runs as host root
 * with the caller-chosen environment (LD_PRELOAD and friends mean nothing to a static binary).
 *
 * Everything it opens is close-on-exec, and before the final exec every fd above the ones the
 * command is meant to have (0-2, and for `init` the fds bwrap is told about) is marked
 * close-on-exec too, so stray fds of the server never reach a sandbox.
 *
 *   hutch-launch init [-c CGROUP_PROCS]... [-U HOST_ID_BASE] [-k N] -- ARGV...
 *     1. join each cgroup (writes its own pid to each cgroup.procs file), so everything after
 *        this instruction is accounted and limited;
 *     2. with -U: unshare a user namespace mapping ids 0..65535 onto HOST_ID_BASE.. (a forked
 *        helper, still in the host namespace, writes uid_map/gid_map as root may), then become
 *        its root (gid 0, groups [0], uid 0);
 *     3. exec ARGV (bwrap) in the same pid, with fds 0..N-1 only (default 3; bwrap's --seccomp
 *        and --info-fd fds are passed below N).
 *
 *   hutch-launch exec -t INIT_PID [-c CGROUP_PROCS]... [-s SECCOMP_FILE] -u UID -g GID -d CWD
 *                     [-p FD] [-S] [-L SOCKET -x AGENT [-O]] -- ARGV...
 *     1. join the cgroups;
 *     2. open the init's namespaces and root, then setns: user first (root of the sandbox's
 *        user namespace has the capabilities to join the rest), then mnt, uts, ipc, net, pid,
 *        cgroup; chroot to the init's root;
 *     3. install the seccomp filter: without no_new_privs (root of the sandbox's user namespace
 *        may), so setuid programs inside (sudo, to the sandbox's root) keep working; with
 *        no_new_privs only if the kernel refuses that. Same rule as the former Perl prelude;
 *     4. fork (the child is in the sandbox's pid namespace); the parent waits and mirrors the
 *        child's exit code or fatal signal, like nsenter;
 *     5. child: setgroups([]) + setgid + setuid, report its in-sandbox pid (on fd FD with -p,
 *        then close it; else as the OSC sequence ESC ] hutch-pid;N BEL on stdout, for PTYs),
 *        keep only fds 0-2, chdir CWD (exporting PWD and OLDPWD as the former `sh` wrapper did) (exit 126 if it cannot), exec ARGV with the environment it was given (PATH
 *        search; exit 127 if not found, 126 if not executable). With -S, ARGV[0] is a shell
 *        string run as `/bin/bash -lc` (or `/bin/sh -c` without bash).
 *
 *   With -L and -x (how the exec agent, native/hutch-agent.c, is started in a sandbox): before
 *   entering anything, bind a listening unix socket at the host path SOCKET (mode 0600, so only
 *   host root connects; the path is not visible inside the sandbox) and open the host file AGENT;
 *   the child then gets the socket as fd 3 and execs AGENT by fd (fexecve), so the agent binary
 *   needs no mount inside the sandbox. -O shields the agent from the OOM killer where the host
 *   allows (its commands reset that); lowering oom_score_adj needs CAP_SYS_RESOURCE in the host's
 *   user namespace, so it happens before setns, and is skipped silently without that capability.
 *
 *   hutch-launch listen -L SOCKET -x AGENT [-O] -- ARGV...
 *     How the container tier starts the exec agent (ARGV is `crun exec --preserve-fds 2 ...`,
 *     whose process runs /proc/self/fd/4): bind the listening socket at SOCKET as above, open the
 *     host file AGENT read-only, make them fds 3 and 4 (every other fd above 2 close-on-exec),
 *     -O as above, then exec ARGV (PATH search) in the same pid.
 *
 * Failures before the command runs print "hutch-launch: <step>: <error>" on stderr and exit 125
 * (exec) or 1 (init). Build: gcc -static -O2 -Wall -o hutch-launch hutch-launch.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_CGROUPS 16
#define MAX_FILTER_BYTES (4096 * 8) /* BPF_MAXINSNS instructions of 8 bytes */

static int fail_code = 1;

static void die(const char *step, int err) {
  fprintf(stderr, "hutch-launch: %s: %s\n", step, strerror(err));
  _exit(fail_code);
}

static void die_msg(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("hutch-launch: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  _exit(fail_code);
}

/* write(2) until done or error; returns 0 or an errno. */
static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Parses a non-negative decimal that fits an int, or dies. */
static int parse_int(const char *what, const char *s) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < 0 || v > 0x7fffffff) die_msg("bad %s: %s", what, s);
  return (int)v;
}

/* Writes a whole short string to a file that must exist (cgroup.procs, uid_map); errno or 0. */
static int write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  int err = write_all(fd, text, strlen(text));
  if (close(fd) != 0 && err == 0) err = errno;
  return err;
}

/*
 * Marks every fd from `low` up close-on-exec, so nothing the caller happened to inherit (a server
 * started with stray fds) reaches the sandbox: the command gets only the fds it was meant to.
 */
static void cloexec_from(int low) {
  if (syscall(SYS_close_range, (unsigned)low, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  /* Kernels before 5.11: walk every possible fd (bounded by RLIMIT_NOFILE). */
  long max = sysconf(_SC_OPEN_MAX);
  if (max < 0 || max > 1 << 20) max = 1 << 20;
  for (int fd = low; fd < max; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) die("fcntl(FD_CLOEXEC)", errno);
  }
}

/* Step 1 of both modes: every later instruction runs inside the sandbox's cgroups. */
static void join_cgroups(char **files, int n) {
  char pid[32];
  snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  for (int i = 0; i < n; i++) {
    int err = write_file(files[i], pid);
    if (err) die("cgroup join failed", err);
  }
}

/* ---- init ---------------------------------------------------------------------------------- */

/*
 * Creates a user namespace for this process with ids 0..65535 mapped from `base`. Only a process
 * with CAP_SETUID in the parent namespace may write such a map, so a child forked before
 * unshare (still in the host namespace) writes it once told to.
 */
static void enter_new_userns(int base) {
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) die("pipe", errno);
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0) die("fork", errno);
  if (child == 0) {
    char b, path[64], map[64];
    close(go[1]);
    ssize_t n;
    do n = read(go[0], &b, 1); while (n < 0 && errno == EINTR);
    if (n != 1) _exit(1);
    snprintf(map, sizeof map, "0 %d 65536\n", base);
    snprintf(path, sizeof path, "/proc/%d/uid_map", (int)parent);
    if (write_file(path, map) != 0) _exit(2);
    snprintf(path, sizeof path, "/proc/%d/gid_map", (int)parent);
    if (write_file(path, map) != 0) _exit(3);
    _exit(0);
  }
  close(go[0]);
  int unshare_err = unshare(CLONE_NEWUSER) == 0 ? 0 : errno;
  /* Tell the helper either way (on failure it finds no namespace to map and exits non-zero). */
  int werr = write_all(go[1], "1", 1);
  close(go[1]);
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid", errno);
  }
  if (unshare_err) die("unshare(user)", unshare_err);
  if (werr) die("pipe write", werr);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die_msg("writing the id map failed (helper status %d)", status);
  /* Host root is not mapped inside: become the namespace's root (host id `base`). */
  gid_t zero = 0;
  if (setgroups(1, &zero) != 0) die("setgroups", errno);
  if (setresgid(0, 0, 0) != 0) die("setgid", errno);
  if (setresuid(0, 0, 0) != 0) die("setuid", errno);
}

static int run_init(int argc, char **argv) {
  char *cgroups[MAX_CGROUPS];
  int ncg = 0, base = -1, keep = 3, i = 0;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (i + 1 >= argc) die_msg("option %s needs a value", argv[i]);
    if (strcmp(argv[i], "-k") == 0) {
      keep = parse_int("fd count", argv[++i]);
    } else if (strcmp(argv[i], "-c") == 0) {
      if (ncg == MAX_CGROUPS) die_msg("too many cgroups");
      cgroups[ncg++] = argv[++i];
    } else if (strcmp(argv[i], "-U") == 0) {
      base = parse_int("id base", argv[++i]);
    } else {
      die_msg("unknown init option %s", argv[i]);
    }
  }
  if (i + 1 >= argc) die_msg("init: no command after --");
  char **cmd = argv + i + 1;
  join_cgroups(cgroups, ncg);
  if (base >= 0) enter_new_userns(base);
  cloexec_from(keep);
  execv(cmd[0], cmd);
  die(cmd[0], errno);
  return 1;
}

/* ---- exec ---------------------------------------------------------------------------------- */

/* Namespaces joined, in this order: user first, then the ones it owns. */
static const struct { const char *name; int type; } NAMESPACES[] = {
  { "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "uts", CLONE_NEWUTS }, { "ipc", CLONE_NEWIPC },
  { "net", CLONE_NEWNET }, { "pid", CLONE_NEWPID }, { "cgroup", CLONE_NEWCGROUP },
};
#define NNS (sizeof NAMESPACES / sizeof NAMESPACES[0])

/* Reads a classic-BPF program (whole `struct sock_filter` records) from a host file. */
static struct sock_fprog load_filter(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die("seccomp filter", errno);
  struct stat st;
  if (fstat(fd, &st) != 0) die("seccomp filter", errno);
  if (st.st_size <= 0 || st.st_size > MAX_FILTER_BYTES || st.st_size % sizeof(struct sock_filter) != 0) die_msg("seccomp filter: bad size %lld", (long long)st.st_size);
  size_t len = (size_t)st.st_size, got = 0;
  char *buf = malloc(len);
  if (!buf) die("seccomp filter", ENOMEM);
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("seccomp filter", errno);
    if (n == 0) die_msg("seccomp filter: short read");
    got += (size_t)n;
  }
  close(fd);
  struct sock_fprog prog = { .len = (unsigned short)(len / sizeof(struct sock_filter)), .filter = (struct sock_filter *)buf };
  return prog;
}

/* Installs the filter; no_new_privs only when the kernel requires it (see the header, step 3). */
static void install_filter(struct sock_fprog *prog) {
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) != 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die("no_new_privs", errno);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) != 0) die("seccomp", errno);
  }
}

/* The parent's half of step 4: wait, then leave exactly as the child did (nsenter's rule). */
static void mirror_child(pid_t child) {
  int status;
  for (;;) {
    pid_t r = waitpid(child, &status, WUNTRACED);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("waitpid", errno);
    }
    if (WIFSTOPPED(status)) {
      /* The child stopped: stop too, and continue it when continued. */
      kill(getpid(), SIGSTOP);
      kill(child, SIGCONT);
      continue;
    }
    break;
  }
  if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    /* No core file of the launcher for a core-dumping signal; then die of the same signal. */
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    kill(getpid(), sig);
  }
  _exit(1);
}

/* A listening unix socket at `path` (replacing a stale one), mode 0600, close-on-exec. */
static int listen_socket(const char *path) {
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof addr.sun_path) die_msg("socket path too long");
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket", errno);
  if (unlink(path) != 0 && errno != ENOENT) die("unlink socket", errno);
  mode_t old = umask(0177);
  int bound = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  umask(old);
  if (bound != 0) die("bind", errno);
  if (listen(fd, 128) != 0) die("listen", errno);
  return fd;
}

static int run_exec(int argc, char **argv) {
  char *cgroups[MAX_CGROUPS];
  int ncg = 0, init_pid = -1, uid = -1, gid = -1, pid_fd = -1, shell = 0, oom_shield = 0, i = 0;
  const char *seccomp = NULL, *cwd = NULL, *listen_path = NULL, *agent_path = NULL;
  fail_code = 125;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "-S") == 0 || strcmp(argv[i], "-O") == 0) {
      if (argv[i][1] == 'S') shell = 1;
      else oom_shield = 1;
      continue;
    }
    if (i + 1 >= argc) die_msg("option %s needs a value", argv[i]);
    const char *opt = argv[i], *val = argv[++i];
    if (strcmp(opt, "-c") == 0) {
      if (ncg == MAX_CGROUPS) die_msg("too many cgroups");
      cgroups[ncg++] = argv[i];
    } else if (strcmp(opt, "-t") == 0) init_pid = parse_int("pid", val);
    else if (strcmp(opt, "-s") == 0) seccomp = val;
    else if (strcmp(opt, "-u") == 0) uid = parse_int("uid", val);
    else if (strcmp(opt, "-g") == 0) gid = parse_int("gid", val);
    else if (strcmp(opt, "-d") == 0) cwd = val;
    else if (strcmp(opt, "-p") == 0) pid_fd = parse_int("pid fd", val);
    else if (strcmp(opt, "-L") == 0) listen_path = val;
    else if (strcmp(opt, "-x") == 0) agent_path = val;
    else die_msg("unknown exec option %s", opt);
  }
  if (i + 1 >= argc) die_msg("exec: no command after --");
  if (init_pid <= 0 || uid < 0 || gid < 0 || !cwd) die_msg("exec: -t, -u, -g and -d are required");
  char **cmd = argv + i + 1;
  if (shell && cmd[0] == NULL) die_msg("exec: -S needs a shell string");
  if ((listen_path == NULL) != (agent_path == NULL)) die_msg("exec: -L and -x go together");
  /* waitpid below needs SIGCHLD not ignored, whatever the spawner left (nsenter does the same). */
  if (signal(SIGCHLD, SIG_DFL) == SIG_ERR) die("signal(SIGCHLD)", errno);

  join_cgroups(cgroups, ncg);

  /* Read every host file first: after setns(mnt) and chroot the host is out of reach. */
  int listen_fd = listen_path ? listen_socket(listen_path) : -1;
  int agent_fd = -1;
  if (agent_path && (agent_fd = open(agent_path, O_RDONLY | O_CLOEXEC)) < 0) die(agent_path, errno);
  /* Best effort: without CAP_SYS_RESOURCE (some container hosts) the agent stays as exposed as the rest. */
  if (oom_shield) (void)write_file("/proc/self/oom_score_adj", "-1000\n");
  struct sock_fprog filter = { 0, NULL };
  if (seccomp) filter = load_filter(seccomp);
  int nsfd[NNS], rootfd;
  char path[64];
  for (size_t n = 0; n < NNS; n++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", init_pid, NAMESPACES[n].name);
    nsfd[n] = open(path, O_RDONLY | O_CLOEXEC);
    if (nsfd[n] < 0) die(path, errno);
  }
  snprintf(path, sizeof path, "/proc/%d/root", init_pid);
  rootfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) die(path, errno);
  for (size_t n = 0; n < NNS; n++) {
    if (setns(nsfd[n], NAMESPACES[n].type) != 0) {
      char step[32];
      snprintf(step, sizeof step, "setns(%s)", NAMESPACES[n].name);
      die(step, errno);
    }
    close(nsfd[n]);
  }
  if (fchdir(rootfd) != 0) die("fchdir(root)", errno);
  if (chroot(".") != 0) die("chroot", errno);
  close(rootfd);

  if (seccomp) install_filter(&filter);

  pid_t child = fork();
  if (child < 0) die("fork", errno);
  if (child > 0) {
    /* The pid report is the child's: the parent keeps no copy of that pipe. */
    if (pid_fd >= 0) close(pid_fd);
    mirror_child(child);
  }

  /* Child: pid 1's descendant inside the sandbox. */
  gid_t g = (gid_t)gid;
  if (setgroups(0, NULL) != 0) die("setgroups", errno);
  if (setresgid(g, g, g) != 0) die("setgid", errno);
  if (setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0) die("setuid", errno);

  char report[64];
  int me = (int)getpid();
  if (pid_fd >= 0) {
    int len = snprintf(report, sizeof report, "%d\n", me);
    int err = write_all(pid_fd, report, (size_t)len);
    if (err) die("pid report", err);
    if (close(pid_fd) != 0) die("pid report", errno);
  } else {
    int len = snprintf(report, sizeof report, "\033]hutch-pid;%d\007", me);
    int err = write_all(STDOUT_FILENO, report, (size_t)len);
    if (err) die("pid report", err);
  }

  cloexec_from(3);
  if (listen_fd >= 0) {
    /* The agent's socket becomes fd 3 (dup2 clears close-on-exec; fd 3 itself needs it cleared). */
    if (listen_fd == 3 ? fcntl(3, F_SETFD, 0) != 0 : dup2(listen_fd, 3) != 3) die("listening fd", errno);
  }

  /* From here on the exit codes are the shell wrapper's: 126 for cwd, 127/126 for exec. */
  if (chdir(cwd) != 0) {
    fprintf(stderr, "hutch-exec: cd: %s: %s\n", cwd, strerror(errno));
    _exit(126);
  }
  /* What `cd` in the former sh wrapper exported. */
  if (setenv("PWD", cwd, 1) != 0 || setenv("OLDPWD", "/", 1) != 0) die("setenv", errno);
  /* The caller's GLIBC_TUNABLES travels under another name so that this static binary, which runs
   * as host root, never parses it (glibc reads tunables at startup even when linked statically). */
  const char *tunables = getenv("HUTCH_SANDBOX_GLIBC_TUNABLES");
  if (tunables) {
    if (setenv("GLIBC_TUNABLES", tunables, 1) != 0) die("setenv", errno);
    unsetenv("HUTCH_SANDBOX_GLIBC_TUNABLES");
  }
  if (shell) {
    char *bash[] = { "/bin/bash", "-lc", cmd[0], NULL };
    char *sh[] = { "/bin/sh", "-c", cmd[0], NULL };
    char **use = access("/bin/bash", X_OK) == 0 ? bash : sh;
    execv(use[0], use);
    fprintf(stderr, "hutch-exec: %s: %s\n", use[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  if (agent_fd >= 0) {
    fexecve(agent_fd, cmd, environ);
    die("exec agent", errno);
  }
  execvp(cmd[0], cmd);
  int err = errno;
  fprintf(stderr, "hutch-exec: %s: %s\n", cmd[0], err == ENOENT ? "not found" : strerror(err));
  _exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

static int run_listen(int argc, char **argv) {
  const char *listen_path = NULL, *agent_path = NULL;
  int oom_shield = 0, i = 0;
  for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
    if (strcmp(argv[i], "-O") == 0) { oom_shield = 1; continue; }
    if (i + 1 >= argc) die_msg("option %s needs a value", argv[i]);
    if (strcmp(argv[i], "-L") == 0) listen_path = argv[++i];
    else if (strcmp(argv[i], "-x") == 0) agent_path = argv[++i];
    else die_msg("unknown listen option %s", argv[i]);
  }
  if (!listen_path || !agent_path || i + 1 >= argc) die_msg("listen: -L, -x and a command after -- are required");
  int agent_fd = open(agent_path, O_RDONLY | O_CLOEXEC);
  if (agent_fd < 0) die("agent", errno);
  int listen_fd = listen_socket(listen_path);
  if (oom_shield) (void)write_file("/proc/self/oom_score_adj", "-1000\n");
  /* Both are close-on-exec wherever they landed: move them to 3 and 4 (dup2 clears the flag there). */
  int hi = listen_fd > agent_fd ? listen_fd : agent_fd;
  int ls = fcntl(listen_fd, F_DUPFD_CLOEXEC, hi + 1), as = fcntl(agent_fd, F_DUPFD_CLOEXEC, hi + 1);
  if (ls < 0 || as < 0) die("dup", errno);
  cloexec_from(3);
  if (dup2(ls, 3) != 3 || dup2(as, 4) != 4) die("dup2", errno);
  char **cmd = argv + i + 1;
  execvp(cmd[0], cmd);
  die(cmd[0], errno);
  return 1;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "init") == 0) return run_init(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "exec") == 0) return run_exec(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "listen") == 0) return run_listen(argc - 2, argv + 2);
  fprintf(stderr, "usage: hutch-launch init|exec|listen [options] -- command...\n");
  return 2;
}
