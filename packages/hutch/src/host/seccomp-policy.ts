/**
 * The syscall policy every host-based tier enforces (the process tier as hand-written BPF, the
 * container tier as an OCI seccomp profile): what is refused, by name, and the clone flags that
 * would create namespaces. Pure data.
 */

/** Syscalls refused with EPERM, by name. Reasons: kernel keyring, mounts, tracing, module and
 * kexec loading, eBPF, userfaultfd (exploit primitive), handle-based opens (escape from bind
 * mounts), swap, reboot, clock and syslog changes, new namespaces, io_uring (bypasses this list). */
export const DENIED_SYSCALLS = [
  'keyctl', 'add_key', 'request_key',
  'mount', 'umount2', 'pivot_root', 'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount', 'fspick', 'mount_setattr',
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'kcmp',
  'kexec_load', 'kexec_file_load', 'init_module', 'finit_module', 'delete_module',
  'bpf', 'userfaultfd', 'perf_event_open', 'open_by_handle_at', 'name_to_handle_at',
  'swapon', 'swapoff', 'reboot', 'acct', 'quotactl',
  'settimeofday', 'clock_settime', 'clock_adjtime', 'adjtimex', 'syslog',
  'unshare', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  'iopl', 'ioperm', 'uselib', 'lookup_dcookie', 'vhangup',
] as const;

/** All CLONE_NEW* flags: NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET, NEWTIME. */
export const CLONE_NEW_MASK = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080;
