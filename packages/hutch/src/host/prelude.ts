/**
 * The host-side prelude every process-tier launch (and every template build command) goes through: a short Perl program (perl-base is
 * essential on Debian, so it is always there) that does, in this order and before anything of the
 * sandbox runs, what Node's `spawn` cannot:
 *   1. join the sandbox's cgroups (writes its own pid to each `cgroup.procs`), so the command and
 *      everything it forks is accounted and limited from its first instruction;
 *   2. optionally create a user namespace mapping ids 0..65535 onto host ids base..base+65535 (a forked
 *      helper writes `uid_map`/`gid_map`, as root may; no newuidmap needed), for bwrap's init;
 *   3. optionally install the seccomp filter (for exec: nsenter then runs under the same filter as
 *      the init). It is installed without no_new_privs where the kernel allows it (the prelude
 *      runs as root, or as root of the new user namespace), so setuid programs inside the
 *      sandbox (sudo: setuid to the sandbox's root, host uid 100000) keep working; the filter
 *      still binds every process. Only if that is refused is no_new_privs set first.
 *      Capabilities are not dropped here: joining the user namespace resets the bounding set,
 *      and they only ever apply inside that namespace;
 *   4. exec the real command (bwrap, nsenter or slirp4netns) in the same pid.
 *
 * Arguments: <seccomp file|-> <prctl nr> <unshare nr> <userns host id base|->
 *            <cgroup.procs files...> -- <argv...>
 */

export const PRELUDE_SCRIPT = String.raw`
use strict;
my ($seccomp, $prctl, $unshare, $userns) = splice(@ARGV, 0, 4);
$prctl += 0; $unshare += 0;
my @cg; while (@ARGV && $ARGV[0] ne '--') { push @cg, shift @ARGV } shift @ARGV;
for my $f (@cg) {
  open(my $h, '>', $f) or die "hutch-prelude: cgroup join failed: $!\n";
  print $h "$$\n"; close($h) or die "hutch-prelude: cgroup join failed: $!\n";
}
if ($userns ne '-') {
  pipe(my $r, my $w) or die "pipe: $!\n"; pipe(my $r2, my $w2) or die "pipe: $!\n";
  my $parent = $$;
  my $pid = fork() // die "hutch-prelude: fork: $!\n";
  if ($pid == 0) {
    close $w; close $r2; my $b; sysread($r, $b, 1) or exit 1;
    for my $m (['uid_map', "0 $userns 65536\n"], ['gid_map', "0 $userns 65536\n"]) {
      open(my $h, '>', "/proc/$parent/$m->[0]") or exit 2; print $h $m->[1]; close($h) or exit 3;
    }
    syswrite($w2, "1"); exit 0;
  }
  close $r; close $w2;
  syscall($unshare, 0x10000000) == 0 or die "hutch-prelude: unshare(user): $!\n";
  syswrite($w, "1"); my $b;
  sysread($r2, $b, 1) or die "hutch-prelude: writing the id map failed\n";
  waitpid($pid, 0);
  # Host root is not mapped into the namespace: become its root (ns uid/gid 0) before exec.
  # Perl's own id variables (no POSIX module: loading it costs ~10 ms on every launch).
  $) = "0 0"; $( = 0; die "hutch-prelude: setgid: $!\n" if $( != 0;
  ($<, $>) = (0, 0); die "hutch-prelude: setuid: $!\n" if $< != 0 || $> != 0;
}
if ($seccomp ne '-') {
  open(my $f, '<:raw', $seccomp) or die "hutch-prelude: seccomp filter: $!\n";
  local $/; my $bytes = <$f>; close $f;
  my $fprog = pack('S x6 P', length($bytes) / 8, $bytes);
  if (syscall($prctl, 22, 2, $fprog) != 0) {
    syscall($prctl, 38, 1, 0, 0, 0) == 0 or die "hutch-prelude: no_new_privs: $!\n";
    syscall($prctl, 22, 2, $fprog) == 0 or die "hutch-prelude: seccomp: $!\n";
  }
}
exec { $ARGV[0] } @ARGV or die "hutch-prelude: exec $ARGV[0]: $!\n";
`;

/** What the prelude should do before exec'ing `argv`. */
export interface PreludeSpec {
  /** Host path of the BPF filter to install, or undefined for none. */
  seccompFile?: string;
  /** Create a user namespace mapping ids 0..65535 to host ids from this base (used for the init). */
  usernsHostBase?: number;
  /** `cgroup.procs` files to join. */
  cgroupProcs: string[];
  argv: string[];
}

/** Syscall numbers the prelude needs on each architecture. */
const PRCTL_NR: Record<string, number> = { x64: 157, arm64: 167 };
const UNSHARE_NR: Record<string, number> = { x64: 272, arm64: 97 };

/** Pure: the argv (`perl -e ...`) that runs `spec` through the prelude. */
export function preludeArgv(spec: PreludeSpec, perlPath = '/usr/bin/perl', nodeArch: string = process.arch): string[] {
  return [
    perlPath,
    '-e',
    PRELUDE_SCRIPT,
    spec.seccompFile ?? '-',
    String(PRCTL_NR[nodeArch] ?? 157),
    String(UNSHARE_NR[nodeArch] ?? 272),
    spec.usernsHostBase === undefined ? '-' : String(spec.usernsHostBase),
    ...spec.cgroupProcs,
    '--',
    ...spec.argv,
  ];
}

