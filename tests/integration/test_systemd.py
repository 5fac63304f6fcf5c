"""Running under systemd (issue 7): sd_notify messages through a NOTIFY_SOCKET the test owns,
socket activation (LISTEN_FDS / LISTEN_FDNAMES), restarts that refuse no connection, and the
access log reopened on SIGUSR1. systemd itself is not needed: the test plays the service
manager's part."""

import ctypes
import errno
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

from harness import (Sluice, http_request, main, make_config, metric_sum, sluice_binary,
                     sluice_env, source_dir)

DIRECT = "{name: direct, match: {path_prefix: /}, respond: {status: 200, body: \"ok\\n\"}}"


def direct_config(workers=2):
    return make_config({}, [DIRECT], workers=workers, limits={"drain_timeout": "5s"})


class NotifySocket:
    """A datagram socket in NOTIFY_SOCKET's place: what sluice tells the service manager."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, key, timeout=15.0):
        """The first message (dict of its lines) not seen before that has `key`."""
        deadline = time.time() + timeout
        while True:
            for i, m in enumerate(self.messages):
                if key in m:
                    del self.messages[: i + 1]
                    return m
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no %s message within %.0fs; got %r" % (key, timeout,
                                                                           self.messages))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            self.messages.append(dict(line.split("=", 1) for line in data.split("\n") if line))

    def close(self):
        self.sock.close()


class Hammer:
    """Threads opening a fresh connection per request in a loop; every failure is recorded."""

    def __init__(self, port, threads=2):
        self.port = port
        self.ok = 0
        self.failures = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _run(self):
        while not self._stop.is_set():
            t0 = time.time()
            try:
                r = http_request(self.port, "GET", "/", timeout=20)
                good = r.status == 200 and r.body == b"ok\n"
                err = None if good else "status %d body %r" % (r.status, r.body[:50])
            except Exception as e:  # refused, reset, timeout: all count
                err = "%s: %s (at %.2f)" % (type(e).__name__, e, time.time() - t0)
            with self._lock:
                if err is None:
                    self.ok += 1
                else:
                    self.failures.append(err)

    def __enter__(self):
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)

    def wait_for_more(self, n, timeout=20.0):
        start = self.ok
        deadline = time.time() + timeout
        while self.ok < start + n and time.time() < deadline:
            time.sleep(0.01)
        if self.ok < start + n:
            raise AssertionError("only %d successful requests in %.0fs (failures: %r)"
                                 % (self.ok - start, timeout, self.failures[:5]))


_libc = ctypes.CDLL(None, use_errno=True)
_libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
_libc.ptrace.restype = ctypes.c_long
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT = 17, 0x4206, 0x4207
WALL = 0x40000000  # __WALL: wait for threads too


class FrozenThreads:
    """Every thread of process `pid` but its main one held still with ptrace (PTRACE_SEIZE and
    PTRACE_INTERRUPT: only those threads stop; the process's signals go to the main thread) until
    thaw(). Call both from the same Python thread (ptrace tracers are threads). Needs root."""

    def __init__(self, pid):
        self.tids = []
        try:
            for name in sorted(os.listdir("/proc/%d/task" % pid)):
                tid = int(name)
                if tid == pid:
                    continue
                if _libc.ptrace(PTRACE_SEIZE, tid, None, None) != 0:
                    raise OSError(ctypes.get_errno(), "PTRACE_SEIZE %d" % tid)
                self.tids.append(tid)
                if _libc.ptrace(PTRACE_INTERRUPT, tid, None, None) != 0:
                    raise OSError(ctypes.get_errno(), "PTRACE_INTERRUPT %d" % tid)
                os.waitpid(tid, WALL)
        except BaseException:
            self.thaw()
            raise

    def thaw(self):
        for tid in self.tids:
            _libc.ptrace(PTRACE_DETACH, tid, None, None)
        self.tids = []


class ActivatedSluice(Sluice):
    """sluice started the way systemd starts a socket-activated service: the listening socket
    as fd 3, LISTEN_FDS=1, LISTEN_PID = its own pid, LISTEN_FDNAMES when `fd_name` is given."""

    def __init__(self, config, listen_sock, fd_name=None):
        self.listen_sock = listen_sock
        self.fd_name = fd_name
        super().__init__(config)

    def start(self):
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        env = sluice_env()
        env["LISTEN_FDS"] = "1"
        env.pop("LISTEN_FDNAMES", None)
        if self.fd_name:
            env["LISTEN_FDNAMES"] = self.fd_name
        fd = self.listen_sock.fileno()

        def to_fd3():
            if fd == 3:
                os.set_inheritable(3, True)
            else:
                os.dup2(fd, 3, inheritable=True)

        # LISTEN_PID must be sluice's pid: the shell exports its own and execs sluice.
        self.proc = subprocess.Popen(
            ["/bin/sh", "-c", 'LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@"',
             sluice_binary(), "-c", self.config_path],
            stdout=self._out, stderr=self._err, cwd=self.dir, env=env,
            stdin=subprocess.DEVNULL, preexec_fn=to_fd3, pass_fds=(3,))
        self.wait_until_ready()
        return self


class SystemdTest(unittest.TestCase):

    def test_sd_notify_ready_reload_watchdog_stopping(self):
        s = Sluice(direct_config(), wait_ready=False)
        notify = NotifySocket(s.dir)
        saved = {k: os.environ.get(k) for k in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        os.environ["NOTIFY_SOCKET"] = notify.path
        os.environ["WATCHDOG_USEC"] = "400000"  # WATCHDOG=1 every 200 ms
        os.environ.pop("WATCHDOG_PID", None)
        try:
            with s:
                m = notify.wait_for("READY")
                self.assertEqual(m["READY"], "1")
                self.assertIn("STATUS", m)
                # READY=1 comes once listeners are bound: a request is served right away.
                self.assertEqual(s.request("GET", "/").status, 200)
                self.assertEqual(s.admin("GET", "/readyz").status, 200)

                t0 = time.time()
                notify.wait_for("WATCHDOG")
                notify.wait_for("WATCHDOG")
                self.assertLess(time.time() - t0, 3.0, "two WATCHDOG=1 at 200 ms intervals")

                before = time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6
                s.signal(signal.SIGHUP)
                m = notify.wait_for("RELOADING")
                self.assertEqual(m["RELOADING"], "1")
                usec = int(m["MONOTONIC_USEC"])
                self.assertGreaterEqual(usec, before - 1e6)
                self.assertLessEqual(usec, time.clock_gettime(time.CLOCK_MONOTONIC) * 1e6)
                m = notify.wait_for("READY")
                self.assertIn("version 2", m.get("STATUS", ""))

                # A failed reload still ends with READY=1 (the old config keeps serving).
                good = open(s.config_path).read()
                with open(s.config_path, "w") as f:
                    f.write("listeners: [{name: x, adress: nope}]\n")
                s.signal(signal.SIGHUP)
                notify.wait_for("RELOADING")
                m = notify.wait_for("READY")
                self.assertIn("reload failed", m.get("STATUS", ""))
                with open(s.config_path, "w") as f:
                    f.write(good)

                s.signal(signal.SIGTERM)
                m = notify.wait_for("STOPPING")
                self.assertEqual(m["STOPPING"], "1")
                self.assertEqual(s.wait(15), 0)
        finally:
            notify.close()
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def _listening_socket(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", 0))
        ls.listen(4096)
        self.addCleanup(ls.close)
        return ls

    def test_socket_activation_restart_refuses_nothing(self):
        # The test is the .socket unit: it owns the listening socket across a restart.
        ls = self._listening_socket()
        port = ls.getsockname()[1]
        config = direct_config().replace("127.0.0.1:$PORT", "127.0.0.1:%d" % port)
        with Hammer(port) as h:
            with ActivatedSluice(config, ls, fd_name="main") as a:  # matched by name
                h.wait_for_more(50)
                self.assertIn("inherited", a.stderr_text())
                self.assertGreater(metric_sum(a.metrics(), "sluice_requests_total"), 0)
                a.signal(signal.SIGTERM)
                self.assertEqual(a.wait(15), 0)
            # No sluice runs now: connections wait in the socket's accept queue.
            time.sleep(0.3)
            with ActivatedSluice(config, ls) as b:  # no LISTEN_FDNAMES: matched by address
                h.wait_for_more(50)
                h.__exit__()
                self.assertGreater(metric_sum(b.metrics(), "sluice_requests_total"), 0)
        self.assertEqual(h.failures, [], "failed requests across a socket-activated restart")
        self.assertGreater(h.ok, 100)

    def test_inherited_socket_matching_no_listener_is_reported(self):
        ls = self._listening_socket()
        with ActivatedSluice(direct_config(), ls, fd_name="other") as s:
            self.assertEqual(s.request("GET", "/").status, 200)  # bound its own listener
            self.assertIn("matches no listener", s.stderr_text())

    def test_reuseport_overlap_restart_refuses_nothing(self):
        # Package upgrade without socket activation: the new process binds the same port
        # (SO_REUSEPORT) while the old one drains. tcp_migrate_req (shipped in the package as
        # /usr/lib/sysctl.d/60-sluice.conf) hands the closing listeners' queued connections over.
        knob = "/proc/sys/net/ipv4/tcp_migrate_req"
        with open(knob) as f:
            old = f.read().strip()
        with open(knob, "w") as f:  # needs root, as CI runs
            f.write("1")
        self.addCleanup(lambda: open(knob, "w").write(old))
        config = direct_config()
        with Sluice(config) as a:
            h = Hammer(a.port).__enter__()
            try:
                h.wait_for_more(50)
                b = Sluice(config)
                b.port = a.port
                b.write_config(config)
                with b:
                    h.wait_for_more(50)
                    a.signal(signal.SIGTERM)
                    self.assertEqual(a.wait(15), 0)
                    h.wait_for_more(100)
                    h.__exit__()
                    served_b = metric_sum(b.metrics(), "sluice_requests_total")
            finally:
                h.__exit__()
        self.assertEqual(h.failures, [], "failed requests while the old process stopped")
        self.assertGreater(served_b, 0)

    def test_overlap_restart_with_late_workers_resets_nothing(self):
        # The old process's workers are stopped (ptrace) while connections queue on their
        # listeners, and run again only after its main thread has begun to stop: the shape of a
        # loaded machine where a worker runs its drain late. Before the fix, the main thread took
        # their last counts (0) as drained and stopped them, so each reset the connection it
        # accepted before it ran the drain (1 reset in the ASan CI run; 5 in 630 restarts of
        # tests/bench/overlap_restart.py). Now it waits until every worker has closed its
        # listeners; what they accepted is served and the rest moves to the new process
        # (tcp_migrate_req).
        knob = "/proc/sys/net/ipv4/tcp_migrate_req"
        with open(knob) as f:
            old = f.read().strip()
        with open(knob, "w") as f:  # needs root, as CI runs
            f.write("1")
        self.addCleanup(lambda: open(knob, "w").write(old))
        config = direct_config()
        with Sluice(config) as a:
            b = Sluice(config)
            b.port = a.port
            b.write_config(config)
            with b:
                h = None
                frozen = FrozenThreads(a.pid)
                try:
                    h = Hammer(a.port, threads=8).__enter__()
                    time.sleep(0.3)  # b serves; a's queues fill (its workers do not run)
                    a.signal(signal.SIGTERM)
                    time.sleep(0.3)  # a's main thread checks its workers every 50 ms
                finally:
                    frozen.thaw()
                try:
                    self.assertEqual(a.wait(15), 0)
                    h.wait_for_more(50)
                finally:
                    h.__exit__()
                served_b = metric_sum(b.metrics(), "sluice_requests_total")
        self.assertEqual(h.failures, [], "failed requests while the old process stopped")
        self.assertGreater(served_b, 0)

    def test_access_log_reopened_on_sigusr1(self):
        with Sluice(direct_config(workers=2)) as s:
            for _ in range(4):
                self.assertEqual(s.request("GET", "/before").status, 200)
            deadline = time.time() + 5
            while len(s.access_log_lines()) < 4 and time.time() < deadline:
                time.sleep(0.05)
            rotated = s.access_log_path + ".1"
            os.rename(s.access_log_path, rotated)
            s.signal(signal.SIGUSR1)
            deadline = time.time() + 5
            while not os.path.exists(s.access_log_path) and time.time() < deadline:
                time.sleep(0.02)
            # Each worker reopens on its own loop; requests keep coming until both have.
            deadline = time.time() + 10
            while time.time() < deadline:
                self.assertEqual(s.request("GET", "/after").status, 200)
                time.sleep(0.05)
                new = [l["path"] for l in s.access_log_lines()]
                if new.count("/after") >= 8:
                    break
            with open(rotated) as f:
                old_paths = [json.loads(l)["path"] for l in f if l.strip()]
            new = [l["path"] for l in s.access_log_lines()]
        self.assertEqual(old_paths.count("/before"), 4)
        self.assertNotIn("/before", new)
        self.assertGreaterEqual(new.count("/after"), 8)


# --------------------------------------------------------------------------------------------
# packaging/sluice.service's sandbox (issue 11 item 6). No systemd runs here as PID 1, so the
# test applies what it can of the unit by hand, as systemd would before exec: the seccomp filter
# built from the unit's own SystemCallFilter= lines (with SystemCallErrorNumber=EPERM and
# NoNewPrivileges=yes), and, as root, PrivateMounts=yes with ProcSubset=pid/ProtectProc.
# --------------------------------------------------------------------------------------------

UNIT = os.path.join(source_dir(), "packaging", "sluice.service")
# `systemd-analyze security --offline=yes packaging/sluice.service`: 1.8 before issue 11, 1.4
# after it (nginx's and HAProxy's Debian units: 9.6; lower is better).
MAX_EXPOSURE = 1.4


def unit_service_settings(path=UNIT):
    """[(key, value)] of the unit's [Service] section, in order (keys may repeat)."""
    out, section = [], None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
            elif section == "[Service]":
                k, v = line.split("=", 1)
                out.append((k, v))
    return out


def syscall_groups():
    """{"@group": [members]} as this systemd lists them (members may be groups)."""
    text = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True,
                          timeout=30, check=True).stdout
    groups, current = {}, None
    for line in text.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.strip() and not line.strip().startswith("#") and current is not None:
            current.append(line.strip())
    return groups


def expand(names, groups):
    out = set()
    for n in names:
        out |= expand(groups[n], groups) if n.startswith("@") else {n}
    return out


def unit_syscall_allow_list(settings, groups):
    """The system calls the unit's SystemCallFilter= lines allow: the first line (not ~) makes
    an allow list, later ones add to it, ~ lines take out (systemd.exec(5))."""
    allowed = None
    for k, v in settings:
        if k != "SystemCallFilter":
            continue
        names = expand(v.lstrip("~").split(), groups)
        if v.startswith("~"):
            assert allowed is not None, "the unit is expected to start with an allow list"
            allowed -= names
        else:
            allowed = names if allowed is None else allowed | names
    return allowed


class UnitSandbox:
    """A preexec_fn doing to a child what the unit makes systemd do to sluice before exec."""

    SCMP_ACT_ALLOW = 0x7FFF0000
    CLONE_NEWNS = 0x00020000
    MS_REC, MS_PRIVATE = 0x4000, 1 << 18
    MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8

    def __init__(self, allowed, mounts, user=None):
        self.lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.lib.seccomp_init.restype = ctypes.c_void_p
        self.lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                              ctypes.c_uint]
        self.lib.seccomp_load.argtypes = [ctypes.c_void_p]
        self.numbers = []
        for name in sorted(allowed):
            nr = self.lib.seccomp_syscall_resolve_name(name.encode())
            if nr >= 0:  # negative: not a call of this architecture
                self.numbers.append(nr)
        self.mounts = mounts
        self.user = user  # a pwd entry: User=/Group= with no supplementary groups

    def __call__(self):
        if self.mounts:  # PrivateMounts=yes, then ProcSubset=pid + ProtectProc=invisible
            if (self.libc.unshare(self.CLONE_NEWNS) != 0 or
                    self.libc.mount(b"none", b"/", None, self.MS_REC | self.MS_PRIVATE, None) != 0
                    or self.libc.mount(b"proc", b"/proc", b"proc",
                                       self.MS_NOSUID | self.MS_NODEV | self.MS_NOEXEC,
                                       b"subset=pid,hidepid=invisible") != 0):
                os._exit(121)
        if self.user is not None:
            os.setgroups([])
            os.setgid(self.user.pw_gid)
            os.setuid(self.user.pw_uid)
        ctx = self.lib.seccomp_init(0x00050000 | errno.EPERM)  # SystemCallErrorNumber=EPERM
        for nr in self.numbers:
            if self.lib.seccomp_rule_add(ctx, self.SCMP_ACT_ALLOW, nr, 0) != 0:
                os._exit(122)
        if self.lib.seccomp_load(ctx) != 0:  # sets no_new_privs first (NoNewPrivileges=yes)
            os._exit(123)


def sanitizer_calls():
    """LeakSanitizer stops the process's threads with ptrace at exit: a sanitized build (as in
    CI) gets that call besides what the unit allows."""
    p = subprocess.run(["ldd", sluice_binary()], capture_output=True, text=True, timeout=30)
    return {"ptrace"} if "libasan" in p.stdout else set()


class SandboxedSluice(Sluice):
    def __init__(self, config, sandbox, env=None):
        self.sandbox = sandbox
        super().__init__(config, wait_ready=False, env=env)

    def start(self):
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([sluice_binary(), "-c", self.config_path],
                                     stdout=self._out, stderr=self._err, cwd=self.dir,
                                     env=dict(sluice_env(), **self.extra_env),
                                     stdin=subprocess.DEVNULL, preexec_fn=self.sandbox)
        return self


class UnitHardeningTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.settings = unit_service_settings()
        cls.allowed = unit_syscall_allow_list(cls.settings, syscall_groups())

    def test_unit_directives_and_exposure(self):
        for kv in [("SystemCallFilter", "@system-service"),
                   ("SystemCallFilter", "~@privileged @resources"),
                   ("SystemCallErrorNumber", "EPERM"), ("NoNewPrivileges", "yes"),
                   ("PrivateMounts", "yes"), ("ProcSubset", "pid"),
                   ("ProtectProc", "invisible"), ("ProtectSystem", "strict"),
                   ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
                   ("LimitNOFILE", "1048576")]:
            self.assertIn(kv, self.settings)
        # @privileged and @resources are out; what sluice calls (strace of a TLS run with a
        # reload, a log reopen and a drain) is in.
        for name in ("setuid", "setgroups", "capset", "chown", "mount", "chroot", "setrlimit",
                     "setpriority", "sched_setaffinity", "sched_setscheduler", "ioprio_set",
                     "mbind", "nice"):
            self.assertNotIn(name, self.allowed)
        for name in ("accept4", "bind", "listen", "connect", "epoll_wait", "eventfd2", "clone3",
                     "futex", "madvise", "mmap", "openat", "prctl", "prlimit64", "sendto",
                     "setsockopt", "shutdown", "exit_group"):
            self.assertIn(name, self.allowed)
        p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--no-pager", UNIT],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for sluice\.service: ([0-9.]+)", p.stdout)
        self.assertIsNotNone(m, p.stdout + p.stderr)
        self.assertLessEqual(float(m.group(1)), MAX_EXPOSURE, p.stdout)

    def test_the_filter_denies_with_eperm(self):
        """The emulated filter is the real thing: a denied call fails with EPERM."""
        sandbox = UnitSandbox(self.allowed, mounts=False)
        probe = ("import os, sys\n"
                 "try:\n    os.setpriority(os.PRIO_PROCESS, 0, 1)\n"
                 "except PermissionError:\n    sys.exit(7)\n")
        p = subprocess.run([sys.executable, "-c", probe], preexec_fn=sandbox, timeout=30,
                           capture_output=True)
        self.assertEqual(p.returncode, 7, p.stderr)
        p = subprocess.run([sys.executable, "-c", probe], timeout=30, capture_output=True)
        self.assertEqual(p.returncode, 0, "setpriority(+1) works without the filter")

    def test_starts_reloads_stops_in_the_units_sandbox(self):
        mounts = os.geteuid() == 0  # the mount namespace needs CAP_SYS_ADMIN
        sandbox = UnitSandbox(self.allowed | sanitizer_calls(), mounts=mounts)
        s = SandboxedSluice(direct_config(), sandbox)
        notify = NotifySocket(s.dir)
        s.extra_env["NOTIFY_SOCKET"] = notify.path
        # ExecStartPre= and the first ExecReload=: `sluice -t`, in the same sandbox.
        p = subprocess.run([sluice_binary(), "-t", "-c", s.config_path], preexec_fn=sandbox,
                           env=sluice_env(), capture_output=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        try:
            with s:
                notify.wait_for("READY")
                self.assertEqual(s.request("GET", "/").status, 200)
                with open("/proc/%d/status" % s.pid) as f:
                    status = f.read()
                self.assertRegex(status, r"Seccomp:\s+2")
                self.assertRegex(status, r"NoNewPrivs:\s+1")
                if mounts:
                    self.assertNotEqual(os.readlink("/proc/%d/ns/mnt" % s.pid),
                                        os.readlink("/proc/self/ns/mnt"))
                s.signal(signal.SIGHUP)  # ExecReload=/bin/kill -HUP $MAINPID
                notify.wait_for("RELOADING")
                self.assertIn("version 2", notify.wait_for("READY").get("STATUS", ""))
                s.signal(signal.SIGUSR1)  # logrotate's postrotate
                for i in range(4):
                    self.assertEqual(s.request("GET", "/after/%d" % i).status, 200)
                s.signal(signal.SIGTERM)  # systemctl stop
                notify.wait_for("STOPPING")
                self.assertEqual(s.wait(15), 0, s.stderr_text())
                self.assertNotIn("rror", s.stderr_text())
        finally:
            notify.close()


if __name__ == "__main__":
    main()
