/**
 * The guest side: the initramfs `/init` (busybox sh: loads the virtio modules, mounts the root disk,
 * hands over to the agent) and the agent itself (python3 from the template, PID 1 after
 * switch_root). Both are data for `artifacts.ts`, which packs them into the initramfs; the
 * initramfs digest covers them, so a change here rebuilds it and invalidates template snapshots.
 */

/** Kernel modules the initramfs loads, in dependency order (the cloud kernel ships no modules.dep). */
export const GUEST_MODULES = [
  'drivers/virtio/virtio_ring',
  'drivers/virtio/virtio',
  'drivers/virtio/virtio_mmio',
  'drivers/block/virtio_blk',
  'drivers/char/virtio_console',
  'net/core/failover',
  'drivers/net/net_failover',
  'drivers/net/virtio_net',
] as const;

/** The initramfs init (busybox sh). */
export const GUEST_INIT = String.raw`#!/bin/busybox sh
B=/bin/busybox
$B mkdir -p /proc /sys /dev /newroot
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_mmio virtio_blk virtio_console; do $B insmod /lib/modules/$m.ko; done
case " $($B cat /proc/cmdline) " in *" hutch.net=user "*)
  for m in failover net_failover virtio_net; do $B insmod /lib/modules/$m.ko; done;;
esac
i=0; while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do $B usleep 10000; i=$((i+1)); done
$B mount -t ext4 -o rw,noatime /dev/vda /newroot || { echo "hutch-init: cannot mount root"; $B poweroff -f; }
$B ip link set lo up
case " $($B cat /proc/cmdline) " in *" hutch.net=user "*)
  $B ip link set eth0 up; $B ip addr add 10.0.2.15/24 dev eth0; $B ip route add default via 10.0.2.2
  $B rm -f /newroot/etc/resolv.conf; echo 'nameserver 10.0.2.3' > /newroot/etc/resolv.conf;;
esac
$B mount -t tmpfs -o mode=0755 tmpfs /newroot/run
$B mkdir -p /newroot/run/hutch
$B cp /agent.py /newroot/run/hutch/agent.py
$B umount /proc /sys
$B mount --move /dev /newroot/dev
exec $B switch_root /newroot /usr/bin/python3 -u /run/hutch/agent.py
`;

/**
 * The guest agent (python3, stdlib only). One selector loop multiplexes the channel, every
 * process's pipes or pty, SIGCHLD and inotify. While the host is disconnected the port reads EOF
 * at once, so the agent then re-checks every 50 ms instead of spinning; connected, it blocks.
 * It also holds the TCP connections of port forwarding (ops `connect`, `conn_*`; see ports.ts),
 * with flow control both ways: a connection is not read while the channel is backed up or the host
 * paused it, and a `conn_write` is answered only once the service has taken most of what was sent.
 */
export const GUEST_AGENT = String.raw`#!/usr/bin/python3 -u
# Hutch guest agent: PID 1 of the microVM after switch_root. Speaks JSON lines over the
# virtio-serial port "agent": requests {"id","op",...} -> replies {"id","ok",...}; events {"ev",...}.
import base64, ctypes, errno, json, os, pwd, grp, selectors, signal, socket, stat, struct, sys, time, fcntl, termios

sel = selectors.DefaultSelector()
libc = ctypes.CDLL(None, use_errno=True)
B64 = lambda b: base64.b64encode(b).decode()
UNB64 = lambda s: base64.b64decode(s) if s else b''
MAX_OUT = 8 << 20


def find_port():
    base = '/sys/class/virtio-ports'
    for _ in range(200):
        try:
            for name in os.listdir(base):
                with open(os.path.join(base, name, 'name')) as f:
                    if f.read().strip() == 'agent':
                        return '/dev/' + name
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit('hutch-agent: no virtio port named agent')


class Channel:
    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
        self.inbuf = b''
        self.out = bytearray()
        self.connected = False
        self.registered = 0

    def register(self, events):
        if events == self.registered:
            return
        if self.registered:
            sel.unregister(self.fd)
        if events:
            sel.register(self.fd, events, ('chan', None))
        self.registered = events

    def wake(self):
        # Called periodically while the host is away: try to read again.
        self.register(selectors.EVENT_READ | (selectors.EVENT_WRITE if self.out else 0))

    def send(self, obj):
        line = (json.dumps(obj, separators=(',', ':')) + '\n').encode()
        if len(self.out) + len(line) > MAX_OUT and obj.get('ev') == 'out':
            return
        self.out += line
        self.flush()

    def flush(self):
        while self.out:
            try:
                n = os.write(self.fd, self.out[:65536])
            except BlockingIOError:
                break
            except OSError:
                break
            del self.out[:n]
        if self.registered:
            self.register(selectors.EVENT_READ | (selectors.EVENT_WRITE if self.out else 0))

    def on_event(self, mask):
        if mask & selectors.EVENT_WRITE:
            self.flush()
        if not mask & selectors.EVENT_READ:
            return []
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        except OSError:
            data = b''
        if not data:
            # The host is not connected (the port reads EOF); poll slowly until it comes back.
            self.connected = False
            self.inbuf = b''
            self.register(0)
            return []
        self.connected = True
        self.inbuf += data
        lines = self.inbuf.split(b'\n')
        self.inbuf = lines.pop()
        return [l for l in lines if l.strip()]


class Proc:
    def __init__(self, pid, fds, pty_fd, stdin_fd, pgid):
        self.pid, self.fds, self.pty_fd, self.stdin_fd, self.pgid = pid, fds, pty_fd, stdin_fd, pgid
        self.status = None
        self.reaped_at = None


procs = {}
watches = {}
base_env = {'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'}
chan = None


def emit_out(pid, stream, data):
    chan.send({'ev': 'out', 'p': pid, 's': stream, 'd': B64(data)})


def resolve_user(user):
    if user is None or user == '':
        user = 'root'
    try:
        pw = pwd.getpwuid(int(user)) if str(user).isdigit() else pwd.getpwnam(user)
        return pw.pw_uid, pw.pw_gid, pw.pw_dir, pw.pw_name
    except (KeyError, ValueError):
        if str(user).isdigit():
            return int(user), int(user), '/', str(user)
        raise OSError(errno.EINVAL, 'unknown user ' + str(user))


def op_exec(req):
    uid, gid, home, name = resolve_user(req.get('user'))
    env = dict(base_env)
    env.update({'HOME': home, 'USER': name, 'LOGNAME': name})
    env.update(req.get('env') or {})
    argv = req['argv']
    cwd = req.get('cwd') or '/'
    pty = req.get('pty')
    if pty:
        env.setdefault('TERM', 'xterm-256color')
        master, slave = os.openpty()
        set_winsize(master, pty['cols'], pty['rows'])
        child_fds = (slave, slave, slave)
    else:
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        child_fds = (in_r, out_w, err_w)
    # Exec errors travel back over a close-on-exec pipe.
    er, ew = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        try:
            os.close(er)
            os.setsid()
            for i, fd in enumerate(child_fds):
                os.dup2(fd, i)
            if pty:
                fcntl.ioctl(0, termios.TIOCSCTTY, 0)
            os.closerange(3, ew)
            os.closerange(ew + 1, 65536)
            for s in range(1, 32):
                try:
                    signal.signal(s, signal.SIG_DFL)
                except (OSError, ValueError):
                    pass
            signal.pthread_sigmask(signal.SIG_SETMASK, [])
            if gid != os.getgid() or uid != 0:
                os.setgroups(os.getgrouplist(name, gid) if uid != 0 else [])
                os.setgid(gid)
                os.setuid(uid)
            try:
                os.chdir(cwd)
            except OSError as e:
                os.write(ew, ('chdir:%d' % e.errno).encode())
                os._exit(126)
            os.execvpe(argv[0], argv, env)
        except OSError as e:
            try:
                os.write(ew, ('exec:%d' % e.errno).encode())
            except OSError:
                pass
            os._exit(127)
        os._exit(127)
    os.close(ew)
    for fd in set(child_fds):
        os.close(fd)
    failure = os.read(er, 64).decode()
    os.close(er)
    if failure:
        os.waitpid(pid, 0)
        for fd in ([master] if pty else [in_w, out_r, err_r]):
            os.close(fd)
        kind, code = failure.split(':')
        code = int(code)
        if kind == 'exec' and code in (errno.ENOENT, errno.EACCES):
            return {'pid': pid, 'failed': {'code': 127 if code == errno.ENOENT else 126, 'message': '%s: %s\n' % (argv[0], os.strerror(code))}}
        raise OSError(code, os.strerror(code))
    if pty:
        fds = {master: 'pty'}
        stdin_fd = master
        os.set_blocking(master, False)
    else:
        fds = {out_r: 'stdout', err_r: 'stderr'}
        stdin_fd = in_w
    p = Proc(pid, fds, master if pty else None, stdin_fd, pid)
    procs[pid] = p
    for fd in fds:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, ('out', pid))
    data = UNB64(req.get('stdin'))
    if data:
        write_stdin(p, data)
    if not req.get('keep_stdin') and not pty:
        close_stdin(p)
    return {'pid': pid}


def set_winsize(fd, cols, rows):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', rows, cols, 0, 0))


def write_stdin(p, data):
    if p.stdin_fd is None:
        raise OSError(errno.EPIPE, 'stdin is closed')
    view = memoryview(data)
    while view:
        try:
            n = os.write(p.stdin_fd, view)
            view = view[n:]
        except BlockingIOError:
            time.sleep(0.005)


def close_stdin(p):
    if p.pty_fd is not None:
        os.write(p.pty_fd, b'\x04')
        return
    if p.stdin_fd is not None:
        os.close(p.stdin_fd)
        p.stdin_fd = None


def get_proc(req):
    p = procs.get(req['pid'])
    if p is None:
        raise OSError(errno.ESRCH, 'no such process')
    return p


def op_signal(req):
    p = get_proc(req)
    sig = getattr(signal, req['sig'])
    if p.status is not None:
        return {}
    try:
        if req.get('group'):
            os.killpg(p.pgid, sig)
        else:
            os.kill(p.pid, sig)
    except ProcessLookupError:
        pass
    return {}


def read_out(fd, pid):
    p = procs.get(pid)
    try:
        data = os.read(fd, 65536)
    except BlockingIOError:
        return
    except OSError:
        data = b''
    if data:
        emit_out(pid, p.fds[fd], data)
        return
    sel.unregister(fd)
    os.close(fd)
    del p.fds[fd]
    if p.pty_fd == fd:
        p.pty_fd = None
        p.stdin_fd = None
    maybe_finish(p)


def maybe_finish(p):
    if p.status is None:
        return
    if p.fds and time.monotonic() - p.reaped_at < 0.5:
        return
    for fd in list(p.fds):
        sel.unregister(fd)
        os.close(fd)
    p.fds = {}
    if p.stdin_fd is not None:
        os.close(p.stdin_fd)
        p.stdin_fd = None
    st = p.status
    if os.WIFSIGNALED(st):
        ev = {'ev': 'exit', 'p': p.pid, 'code': None, 'sig': signal.Signals(os.WTERMSIG(st)).name}
    else:
        ev = {'ev': 'exit', 'p': p.pid, 'code': os.WEXITSTATUS(st), 'sig': None}
    del procs[p.pid]
    chan.send(ev)


def reap():
    while True:
        try:
            pid, st = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        p = procs.get(pid)
        if p is not None:
            p.status = st
            p.reaped_at = time.monotonic()
            if p.pty_fd is not None:
                # Drain what the pty still holds, then finish: a pty has no EOF once the child is gone.
                read_out(p.pty_fd, pid)
            maybe_finish(p)


# ---- files ----
def entry(path, st=None):
    st = st or os.lstat(path)
    t = 'dir' if stat.S_ISDIR(st.st_mode) else 'file' if stat.S_ISREG(st.st_mode) else 'symlink' if stat.S_ISLNK(st.st_mode) else 'other'
    e = {'name': os.path.basename(path) or '/', 'path': path, 'type': t, 'size': st.st_size, 'mode': stat.S_IMODE(st.st_mode), 'mtime': st.st_mtime}
    if t == 'symlink':
        e['target'] = os.readlink(path)
    return e


def op_stat(req):
    return {'entry': entry(req['path'], os.stat(req['path']) if req.get('follow', True) else None)}


def op_list(req):
    out = []
    def walk(d, depth):
        for name in sorted(os.listdir(d)):
            full = d.rstrip('/') + '/' + name
            e = entry(full)
            out.append(e)
            if e['type'] == 'dir' and depth > 1:
                walk(full, depth - 1)
    if not stat.S_ISDIR(os.stat(req['path']).st_mode):
        raise OSError(errno.ENOTDIR, 'not a directory')
    walk(req['path'], req.get('depth', 1))
    return {'entries': out}


def op_read(req):
    with open(req['path'], 'rb') as f:
        if stat.S_ISDIR(os.fstat(f.fileno()).st_mode):
            raise OSError(errno.EISDIR, 'is a directory')
        f.seek(req.get('offset', 0))
        data = f.read(req.get('len', 1 << 20))
    return {'d': B64(data), 'eof': len(data) < req.get('len', 1 << 20)}


def op_write(req):
    path = req['path']
    if req.get('parents') and not req.get('append'):
        os.makedirs(os.path.dirname(path) or '/', exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if req.get('append') else os.O_TRUNC)
    fd = os.open(path, flags, req.get('mode', 0o644))
    try:
        os.write(fd, UNB64(req.get('d')))
    finally:
        os.close(fd)
    return {'entry': entry(path, os.stat(path))}


def op_mkdir(req):
    if req.get('parents'):
        os.makedirs(req['path'], exist_ok=True)
    else:
        os.mkdir(req['path'])
    return {'entry': entry(req['path'])}


def op_move(req):
    os.rename(req['from'], req['to'])
    return {'entry': entry(req['to'])}


def op_remove(req):
    path = req['path']
    st = os.lstat(path)
    if stat.S_ISDIR(st.st_mode):
        if req.get('recursive'):
            for root, dirs, files in os.walk(path, topdown=False):
                for n in files:
                    os.unlink(os.path.join(root, n))
                for n in dirs:
                    full = os.path.join(root, n)
                    os.unlink(full) if os.path.islink(full) else os.rmdir(full)
        os.rmdir(path)
    else:
        os.unlink(path)
    return {}


IN_FLAGS = {0x2: 'write', 0x4: 'chmod', 0x40: 'rename', 0x80: 'create', 0x100: 'create', 0x200: 'remove', 0x8: 'write'}
inotify_fd = None
wd_map = {}


def op_watch(req):
    global inotify_fd
    if inotify_fd is None:
        inotify_fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if inotify_fd < 0:
            raise OSError(ctypes.get_errno(), 'inotify_init1')
        sel.register(inotify_fd, selectors.EVENT_READ, ('inotify', None))
    wid = req['wid']
    os.stat(req['path'])
    dirs = [req['path']]
    if req.get('recursive'):
        for root, ds, _ in os.walk(req['path']):
            dirs += [os.path.join(root, d) for d in ds]
    watches[wid] = []
    for d in dirs:
        wd = libc.inotify_add_watch(inotify_fd, d.encode(), 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200)
        if wd >= 0:
            wd_map.setdefault(wd, set()).add((wid, d))
            watches[wid].append(wd)
    return {}


def op_unwatch(req):
    for wd in watches.pop(req['wid'], []):
        entries = wd_map.get(wd, set())
        for item in [x for x in entries if x[0] == req['wid']]:
            entries.discard(item)
        if not entries:
            wd_map.pop(wd, None)
            libc.inotify_rm_watch(inotify_fd, wd)
    return {}


def read_inotify():
    try:
        data = os.read(inotify_fd, 65536)
    except BlockingIOError:
        return
    i = 0
    while i + 16 <= len(data):
        wd, mask, _cookie, length = struct.unpack_from('iIII', data, i)
        name = data[i + 16:i + 16 + length].rstrip(b'\0').decode(errors='replace')
        i += 16 + length
        kind = next((v for k, v in IN_FLAGS.items() if mask & k), None)
        if kind is None:
            continue
        for wid, d in list(wd_map.get(wd, ())):
            chan.send({'ev': 'watch', 'w': wid, 'type': kind, 'path': d.rstrip('/') + '/' + name if name else d})


# ---- port forwarding: TCP connections to this guest's loopback, ids chosen by the host ----
CONN_HIGH = 1 << 20  # answer a conn_write only once at most this much waits for the service
CHAN_HIGH = 1 << 20  # stop reading connections while the channel holds more than this
conns = {}


class Conn:
    def __init__(self, cid, port, rid):
        self.cid, self.port = cid, port
        self.rid = rid  # the connect request, until it is answered
        self.hosts = [(socket.AF_INET, '127.0.0.1'), (socket.AF_INET6, '::1')]
        self.err = 0
        self.sock = None
        self.events = 0
        self.out = bytearray()
        self.write_rid = None  # a conn_write answered once out has drained below CONN_HIGH
        self.shut = 0  # 1: the host ended its side (shutdown once out is empty), 2: done
        self.paused = False


def conn_watch(c):
    if c.sock is None:
        return
    if c.rid is not None:
        ev = selectors.EVENT_WRITE
    else:
        ev = (selectors.EVENT_READ if not c.paused and len(chan.out) < CHAN_HIGH else 0) | (selectors.EVENT_WRITE if c.out else 0)
    if ev == c.events:
        return
    if c.events and ev:
        sel.modify(c.sock, ev, ('conn', c.cid))
    elif c.events:
        sel.unregister(c.sock)
    else:
        sel.register(c.sock, ev, ('conn', c.cid))
    c.events = ev


def conn_drop(c, answer=True):
    if c.sock is not None:
        if c.events:
            sel.unregister(c.sock)
        c.sock.close()
        c.sock = None
    c.events = 0
    conns.pop(c.cid, None)
    if answer and c.rid is not None:
        code = c.err or errno.ECANCELED
        chan.send({'id': c.rid, 'ok': False, 'errno': errno.errorcode.get(code, 'EIO'), 'message': os.strerror(code)})
    if answer and c.write_rid is not None:
        chan.send({'id': c.write_rid, 'ok': True})
    c.rid = c.write_rid = None


def conn_next(c):
    # 127.0.0.1 first, ::1 only when nothing listens there; the first error is the one reported.
    while c.hosts:
        family, host = c.hosts.pop(0)
        try:
            s = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC)
        except OSError as e:
            c.err = c.err or e.errno
            continue
        rc = s.connect_ex((host, c.port))
        if rc in (0, errno.EINPROGRESS):
            c.sock = s
            if rc == 0:
                conn_ready(c)
            else:
                conn_watch(c)
            return
        s.close()
        c.err = c.err or rc
        if rc != errno.ECONNREFUSED:
            break
    conn_drop(c)


def conn_ready(c):
    chan.send({'id': c.rid, 'ok': True})
    c.rid = None
    conn_watch(c)


def conn_end(c, code):
    chan.send({'ev': 'conn_end', 'c': c.cid, 'errno': errno.errorcode.get(code, 'EIO') if code else None})
    conn_drop(c)


def conn_flushed(c):
    if c.write_rid is not None and len(c.out) <= CONN_HIGH:
        chan.send({'id': c.write_rid, 'ok': True})
        c.write_rid = None
    if c.shut == 1 and not c.out:
        c.shut = 2
        try:
            c.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def conn_event(c, mask):
    if c.rid is not None:
        rc = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if rc == 0:
            return conn_ready(c)
        sel.unregister(c.sock)
        c.sock.close()
        c.sock, c.events = None, 0
        c.err = c.err or rc
        if rc != errno.ECONNREFUSED:
            c.hosts = []
        return conn_next(c)
    if mask & selectors.EVENT_WRITE and c.out:
        try:
            del c.out[:c.sock.send(c.out)]
        except BlockingIOError:
            pass
        except OSError as e:
            return conn_end(c, e.errno)
        conn_flushed(c)
    if mask & selectors.EVENT_READ:
        try:
            data = c.sock.recv(1 << 16)
        except BlockingIOError:
            data = None
        except OSError as e:
            return conn_end(c, e.errno)
        if data == b'':
            return conn_end(c, 0)
        if data:
            chan.send({'ev': 'conn', 'c': c.cid, 'd': B64(data)})
    conn_watch(c)


def conn_guard(c, fn, *args):
    # PID 1 must not die over one connection: an unexpected failure ends that connection only.
    try:
        fn(c, *args)
    except Exception:
        try:
            conn_end(c, errno.EIO)
        except Exception:
            conns.pop(c.cid, None)


def get_conn(req):
    c = conns.get(req['c'])
    if c is None or c.rid is not None:
        raise OSError(errno.ENOTCONN, 'no such connection')
    return c


def op_connect(req):
    port = req['port']
    if not isinstance(port, int) or not 0 < port < 65536:
        raise OSError(errno.EINVAL, 'not a TCP port')
    if req['c'] in conns:
        raise OSError(errno.EEXIST, 'connection id in use')
    c = Conn(req['c'], port, req['id'])
    conns[c.cid] = c
    conn_next(c)
    return None


def op_conn_write(req):
    c = get_conn(req)
    if c.shut:
        raise OSError(errno.EPIPE, 'the connection was shut down for writing')
    c.out += UNB64(req.get('d'))
    conn_watch(c)
    if len(c.out) > CONN_HIGH:
        c.write_rid = req['id']
        return None
    return {}


def op_conn_shut(req):
    c = get_conn(req)
    c.shut = c.shut or 1
    conn_flushed(c)
    return {}


def op_conn_close(req):
    c = conns.get(req['c'])
    if c is not None:
        conn_drop(c)
    return {}


def op_conn_pause(req, paused):
    c = conns.get(req['c'])
    if c is not None:
        c.paused = paused
        conn_watch(c)
    return {}


# ---- misc ----
def op_hello(req):
    if req.get('time_ms'):
        try:
            time.clock_settime(time.CLOCK_REALTIME, req['time_ms'] / 1000.0)
        except OSError:
            pass
    if req.get('entropy'):
        with open('/dev/urandom', 'wb') as f:
            f.write(UNB64(req['entropy']))
    if 'env' in req:
        base_env.clear()
        base_env.update({'PATH': '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'LANG': 'C.UTF-8'})
        base_env.update(req['env'])
    # A new host (start, restore, adoption) knows none of the connections: close them, unanswered
    # (their request ids belong to the previous host).
    for c in list(conns.values()):
        conn_drop(c, False)
    return {'pids': sorted(procs)}


def op_stats(req):
    with open('/proc/stat') as f:
        cpu = [int(x) for x in f.readline().split()[1:]]
    busy = sum(cpu) - cpu[3] - (cpu[4] if len(cpu) > 4 else 0)
    mem = {}
    with open('/proc/meminfo') as f:
        for line in f:
            k, v = line.split(':')
            mem[k] = int(v.split()[0]) * 1024
    pids = sum(1 for n in os.listdir('/proc') if n.isdigit())
    vfs = os.statvfs('/')
    hz = os.sysconf('SC_CLK_TCK')
    return {'cpu_ms': busy * 1000 // hz, 'mem': mem['MemTotal'] - mem['MemAvailable'], 'mem_total': mem['MemTotal'], 'pids': pids,
            'disk': (vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize}


def op_sync(req):
    os.sync()
    return {}


OPS = {'exec': op_exec, 'stdin': lambda r: (write_stdin(get_proc(r), UNB64(r.get('d'))), {})[1],
       'close_stdin': lambda r: (close_stdin(get_proc(r)), {})[1], 'signal': op_signal,
       'resize': lambda r: (set_winsize(get_proc(r).pty_fd, r['cols'], r['rows']), {})[1],
       'stat': op_stat, 'list': op_list, 'read': op_read, 'write': op_write, 'mkdir': op_mkdir, 'move': op_move,
       'remove': op_remove, 'watch': op_watch, 'unwatch': op_unwatch, 'hello': op_hello, 'stats': op_stats, 'sync': op_sync,
       'connect': op_connect, 'conn_write': op_conn_write, 'conn_shut': op_conn_shut, 'conn_close': op_conn_close,
       'conn_pause': lambda r: op_conn_pause(r, True), 'conn_resume': lambda r: op_conn_pause(r, False)}


def handle(line):
    try:
        req = json.loads(line)
    except ValueError:
        return
    rid = req.get('id')
    try:
        res = OPS[req['op']](req)
        if res is None:  # answered later (connect, a conn_write waiting for the service)
            return
        res['id'] = rid
        res['ok'] = True
    except OSError as e:
        res = {'id': rid, 'ok': False, 'errno': errno.errorcode.get(e.errno, 'EIO'), 'message': e.strerror or str(e)}
    except Exception as e:  # a bug in a request: report it rather than die (PID 1 must not exit)
        res = {'id': rid, 'ok': False, 'errno': 'EINVAL', 'message': '%s: %s' % (type(e).__name__, e)}
    chan.send(res)


def setup():
    os.umask(0o022)
    for d, fs in (('/proc', 'proc'), ('/sys', 'sysfs'), ('/dev', 'devtmpfs'), ('/dev/pts', 'devpts'), ('/dev/shm', 'tmpfs'), ('/tmp', 'tmpfs')):
        os.makedirs(d, exist_ok=True)
        if os.path.ismount(d):
            continue
        opts = b'gid=5,mode=620,ptmxmode=666' if fs == 'devpts' else b'mode=1777' if d in ('/tmp', '/dev/shm') else None
        libc.mount(fs.encode(), d.encode(), fs.encode(), 0, opts)
    if not os.path.exists('/dev/ptmx'):
        os.symlink('pts/ptmx', '/dev/ptmx')
    for link, target in (('/dev/fd', '/proc/self/fd'), ('/dev/stdin', '/proc/self/fd/0'), ('/dev/stdout', '/proc/self/fd/1'), ('/dev/stderr', '/proc/self/fd/2')):
        if not os.path.lexists(link):
            os.symlink(target, link)


def main():
    global chan
    if os.getpid() == 1:
        setup()
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel.register(rfd, selectors.EVENT_READ, ('sig', None))
    chan = Channel(find_port())
    chan.register(selectors.EVENT_READ)
    print('hutch-agent: ready', flush=True)
    while True:
        timeout = None if chan.registered else 0.05
        if any(p.status is not None for p in procs.values()):
            timeout = 0.1
        for key, mask in sel.select(timeout):
            kind, arg = key.data
            if kind == 'chan':
                for line in chan.on_event(mask):
                    handle(line)
            elif kind == 'out':
                read_out(key.fd, arg)
            elif kind == 'sig':
                try:
                    os.read(rfd, 512)
                except BlockingIOError:
                    pass
                reap()
            elif kind == 'inotify':
                read_inotify()
            elif kind == 'conn' and arg in conns:
                conn_guard(conns[arg], conn_event, mask)
        # Connections are read only while the channel keeps up (conn_watch checks its backlog).
        for c in list(conns.values()):
            conn_guard(c, conn_watch)
        if not chan.registered:
            chan.wake()
        for p in [p for p in procs.values() if p.status is not None]:
            maybe_finish(p)


main()
`;
