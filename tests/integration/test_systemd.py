"""Running under systemd (issue 7): sd_notify messages through a NOTIFY_SOCKET the test owns,
socket activation (LISTEN_FDS / LISTEN_FDNAMES), restarts that refuse no connection, and the
access log reopened on SIGUSR1. systemd itself is not needed: the test plays the service
manager's part."""

import json
import os
import signal
import socket
import subprocess
import threading
import time
import unittest

from harness import (Sluice, http_request, main, make_config, metric_sum, sluice_binary,
                     sluice_env)

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


if __name__ == "__main__":
    main()
