/*
 * hutch-mntns: the container tier's long-lived runtime mount namespace (crun 1.x on a hybrid
 * cgroup host). crun refuses to run while a cgroup2 holding controllers is mounted beside the v1
 * hierarchies; the former per-call workaround (`unshare -m` + `sh` + `umount` + detaching other
 * sandboxes' overlays, on every crun call) cost more than crun itself. Instead one holder process
 * keeps a private mount namespace without that cgroup2, and every crun call joins it.
 *
 *   hutch-mntns hold -U CGROUP2_MOUNT
 *     1. unshare a mount namespace, make every mount in it private (nothing propagates either way);
 *     2. unmount CGROUP2_MOUNT there (the host keeps it);
 *     3. detach every overlay mount but `/` (sandbox roots, workspaces): the namespace must not pin
 *        the host's overlays, whose directories are removed when their sandboxes go;
 *     4. die with the parent (PR_SET_PDEATHSIG SIGKILL): the server that started it; a restarted
 *        server starts its own;
 *     5. print "ready\n" on stdout, close it, and sleep until killed.
 *
 *   hutch-mntns run -t HOLDER_PID -i NS_INODE [-u MOUNT_POINT]... [-b MOUNT_POINT]... -- ARGV...
 *     1. open the holder's mount namespace and check its inode (a reused pid is refused);
 *     2. with -u: unmount each path in the host's namespace (destroy: the sandbox's root overlay,
 *        saving a umount(8) spawn; a container still running keeps its own copy until it ends).
 *        Not mounted or busy is no failure: the caller checks and retries;
 *        with -b: clone each host mount (recursively) while still in the host's namespace;
 *     3. setns into the holder's namespace;
 *     4. without -b: exec ARGV (fds as given: crun exec --preserve-fds relies on it);
 *        with -b: attach each clone at the same path, fork, exec ARGV in the child; the parent waits,
 *        detaches the clones again (the namespace never keeps a sandbox's overlay) and mirrors the
 *        child's exit code or fatal signal. Only `crun run` needs -b: it pivots into the root.
 *
 * Failures before ARGV runs print "hutch-mntns: <step>: <error>" on stderr and exit 125.
 * Build: gcc -static -O2 -Wall -o hutch-mntns hutch-mntns.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

#define FAIL 125
#define MAX_BINDS 16

static void die(const char *step, int err) {
  fprintf(stderr, "hutch-mntns: %s: %s\n", step, strerror(err));
  _exit(FAIL);
}

/* Decodes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s) {
  char *out = s;
  for (char *in = s; *in; in++) {
    if (in[0] == '\\' && in[1] >= '0' && in[1] <= '7' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
      *out++ = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
      in += 3;
    } else {
      *out++ = *in;
    }
  }
  *out = '\0';
}

/* Step 3 of hold: lazily detaches every overlay mount but `/` in this (new, private) namespace. */
static void detach_overlays(void) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) die("open mountinfo", errno);
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    /* id parent major:minor root mount-point options [optional...] - fstype source super */
    char *fields[5] = { 0 };
    char *save = NULL, *tok = strtok_r(line, " ", &save);
    for (int i = 0; tok && i < 5; i++, tok = strtok_r(NULL, " ", &save)) fields[i] = tok;
    if (!fields[4]) continue;
    while (tok && strcmp(tok, "-") != 0) tok = strtok_r(NULL, " ", &save);
    char *fstype = tok ? strtok_r(NULL, " ", &save) : NULL;
    if (!fstype || strcmp(fstype, "overlay") != 0) continue;
    unescape(fields[4]);
    if (strcmp(fields[4], "/") == 0) continue;
    /* A mount below one detached earlier is gone already (EINVAL/ENOENT): fine. */
    umount2(fields[4], MNT_DETACH);
  }
  free(line);
  fclose(f);
}

static int run_hold(int argc, char **argv) {
  const char *cgroup2 = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "-U") == 0 && i + 1 < argc) cgroup2 = argv[++i];
    else { fprintf(stderr, "hutch-mntns: hold: unexpected %s\n", argv[i]); return 2; }
  }
  if (!cgroup2) { fprintf(stderr, "hutch-mntns: hold: -U is required\n"); return 2; }
  pid_t parent = getppid();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl(PR_SET_PDEATHSIG)", errno);
  if (getppid() != parent) _exit(FAIL);
  if (unshare(CLONE_NEWNS) != 0) die("unshare(CLONE_NEWNS)", errno);
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) die("make / private", errno);
  if (umount2(cgroup2, MNT_DETACH) != 0) die("umount cgroup2", errno);
  detach_overlays();
  if (chdir("/") != 0) die("chdir /", errno);
  if (write(STDOUT_FILENO, "ready\n", 6) != 6) die("ready", errno);
  close(STDOUT_FILENO);
  for (;;) pause();
}

static int run_run(int argc, char **argv) {
  const char *pid = NULL, *inode = NULL;
  const char *binds[MAX_BINDS], *unmounts[MAX_BINDS];
  int nbinds = 0, nunmounts = 0, i = 0;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) { i++; break; }
    if (i + 1 >= argc) break;
    if (strcmp(argv[i], "-t") == 0) pid = argv[++i];
    else if (strcmp(argv[i], "-i") == 0) inode = argv[++i];
    else if (strcmp(argv[i], "-b") == 0 && nbinds < MAX_BINDS) binds[nbinds++] = argv[++i];
    else if (strcmp(argv[i], "-u") == 0 && nunmounts < MAX_BINDS) unmounts[nunmounts++] = argv[++i];
    else { fprintf(stderr, "hutch-mntns: run: unexpected %s\n", argv[i]); return 2; }
  }
  if (!pid || !inode || i >= argc) { fprintf(stderr, "usage: hutch-mntns run -t PID -i INODE [-b PATH]... -- ARGV...\n"); return 2; }
  char **cmd = argv + i;

  char path[64];
  snprintf(path, sizeof path, "/proc/%s/ns/mnt", pid);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die("holder namespace", errno);
  struct stat st;
  if (fstat(ns, &st) != 0) die("holder namespace", errno);
  char want[32];
  snprintf(want, sizeof want, "%llu", (unsigned long long)st.st_ino);
  if (strcmp(want, inode) != 0) die("holder namespace", ESTALE);

  for (int u = 0; u < nunmounts; u++) umount2(unmounts[u], UMOUNT_NOFOLLOW);
  int trees[MAX_BINDS];
  for (int b = 0; b < nbinds; b++) {
    trees[b] = (int)syscall(SYS_open_tree, AT_FDCWD, binds[b], OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (trees[b] < 0) die("open_tree", errno);
  }
  if (setns(ns, CLONE_NEWNS) != 0) die("setns(mnt)", errno);
  close(ns);
  if (nbinds == 0) {
    execvp(cmd[0], cmd);
    die("exec", errno);
  }
  for (int b = 0; b < nbinds; b++) {
    if (syscall(SYS_move_mount, trees[b], "", AT_FDCWD, binds[b], MOVE_MOUNT_F_EMPTY_PATH) != 0) die("move_mount", errno);
    close(trees[b]);
  }
  pid_t child = fork();
  if (child < 0) die("fork", errno);
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execvp(cmd[0], cmd);
    fprintf(stderr, "hutch-mntns: exec: %s\n", strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) die("waitpid", errno);
  }
  for (int b = nbinds - 1; b >= 0; b--) umount2(binds[b], MNT_DETACH);
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  signal(WTERMSIG(status), SIG_DFL);
  kill(getpid(), WTERMSIG(status));
  return 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "hold") == 0) return run_hold(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "run") == 0) return run_run(argc - 2, argv + 2);
  fprintf(stderr, "usage: hutch-mntns hold|run [options]\n");
  return 2;
}
