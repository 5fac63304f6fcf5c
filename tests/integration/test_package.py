"""The Debian package (issue 7): built by CPack from the build this test runs against,
installed with dpkg, run the way sluice.service runs it, removed and purged. Needs root (CI runs
as root); without it the test fails rather than pretend.

systemd is normally not PID 1 where CI runs (a container): then the test does what the unit
does by hand — as the `sluice` user, with a NOTIFY_SOCKET the test owns — instead of
`systemctl start/reload/stop`."""

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

from harness import free_port, http_request, main, sluice_binary, source_dir
from test_systemd import (UnitSandbox, syscall_groups, unit_service_settings,
                          unit_syscall_allow_list)

UNITS = ["/lib/systemd/system/sluice.service", "/lib/systemd/system/sluice.socket"]
FILES = ["/usr/sbin/sluice", "/etc/sluice/sluice.yaml", "/etc/sluice/conf.d/README",
         "/etc/logrotate.d/sluice", "/usr/share/man/man8/sluice.8.gz",
         "/usr/lib/sysctl.d/60-sluice.conf", "/usr/share/sluice/grafana-dashboard.json",
         "/usr/share/sluice/prometheus-alerts.yml"] + UNITS
CONFFILES = ["/etc/sluice/sluice.yaml", "/etc/sluice/conf.d/README", "/etc/logrotate.d/sluice"]


def run(*args, check=True, **kw):
    p = subprocess.run(list(args), capture_output=True, text=True, timeout=300, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s -> %d\n%s%s" % (" ".join(args), p.returncode, p.stdout, p.stderr))
    return p


def systemd_running():
    p = subprocess.run(["systemctl", "is-system-running"], capture_output=True, text=True)
    return p.stdout.strip() in ("running", "degraded")


class PackageTest(unittest.TestCase):

    def setUp(self):
        self.assertEqual(os.geteuid(), 0, "this test installs a .deb with dpkg: run it as root")
        if run("dpkg-query", "-W", "sluice", check=False).returncode == 0:
            self.fail("a sluice package is already installed here; remove it first (dpkg -P sluice)")
        self.tmp = tempfile.mkdtemp(prefix="sluice-pkg-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.addCleanup(lambda: run("dpkg", "-P", "sluice", check=False))

    def build_deb(self):
        build_dir = os.path.dirname(sluice_binary())
        config = os.path.join(build_dir, "CPackConfig.cmake")
        self.assertTrue(os.path.exists(config), "no CPackConfig.cmake in %s" % build_dir)
        run("cpack", "-G", "DEB", "--config", config, "-B", self.tmp)
        debs = glob.glob(os.path.join(self.tmp, "sluice_*.deb"))
        self.assertEqual(len(debs), 1, debs)
        return debs[0]

    def test_install_run_remove_purge(self):
        deb = self.build_deb()
        listing = run("dpkg-deb", "-c", deb).stdout
        for f in FILES:
            self.assertIn("." + f + "\n", listing + "\n", "%s not in the package" % f)
        conffiles = run("dpkg-deb", "-f", deb, "Package").stdout.strip()
        self.assertEqual(conffiles, "sluice")
        info = run("dpkg-deb", "-I", deb, "conffiles").stdout.split()
        self.assertEqual(sorted(info), sorted(CONFFILES))

        run("dpkg", "-i", deb)
        status = run("dpkg", "-s", "sluice").stdout
        self.assertIn("Status: install ok installed", status)
        for f in CONFFILES:
            self.assertIn(" %s " % f, status, "%s is not a conffile" % f)
        for f in FILES:
            self.assertTrue(os.path.exists(f), f)
        run("gzip", "-t", "/usr/share/man/man8/sluice.8.gz")
        user = pwd.getpwnam("sluice")
        st = os.stat("/var/log/sluice")
        self.assertEqual((st.st_uid, st.st_gid), (user.pw_uid, user.pw_gid))
        self.assertEqual(st.st_mode & 0o777, 0o750)

        p = run("/usr/sbin/sluice", "-t", "-c", "/etc/sluice/sluice.yaml", check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = run("systemd-analyze", "verify", *UNITS, check=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stderr.strip(), "", "systemd-analyze verify warnings")
        p = run("logrotate", "-d", "/etc/logrotate.d/sluice", check=False)
        self.assertEqual(p.returncode, 0, p.stderr)

        if systemd_running():
            self.run_with_systemctl()
        else:
            self.run_like_the_unit(user)

        run("dpkg", "-r", "sluice")
        self.assertFalse(os.path.exists("/usr/sbin/sluice"))
        self.assertFalse(os.path.exists(UNITS[0]))
        self.assertTrue(os.path.exists("/etc/sluice/sluice.yaml"), "conffiles stay until purge")
        self.assertIn("deinstall ok config-files", run("dpkg", "-s", "sluice").stdout)
        self.assertFalse(os.path.exists(
            "/etc/systemd/system/multi-user.target.wants/sluice.service"))
        run("dpkg", "-P", "sluice")
        self.assertFalse(os.path.exists("/etc/sluice"))
        self.assertFalse(os.path.exists("/etc/logrotate.d/sluice"))
        self.assertFalse(os.path.exists("/var/log/sluice"))
        self.assertNotEqual(run("dpkg-query", "-W", "sluice", check=False).returncode, 0)

    def run_with_systemctl(self):
        run("systemctl", "start", "sluice.service")
        self.assertEqual(run("systemctl", "is-active", "sluice.service").stdout.strip(), "active")
        run("systemctl", "reload", "sluice.service")
        self.assertEqual(http_request(9901, "GET", "/readyz", host="127.0.0.1").status, 200)
        run("systemctl", "stop", "sluice.service")

    def run_like_the_unit(self, user):
        # The packaged config on free ports (the unit's ExecStart, as its User=, with NOTIFY_SOCKET,
        # in the installed unit's sandbox as far as it can be applied without systemd: its
        # SystemCallFilter= lines, NoNewPrivileges=, PrivateMounts= and ProcSubset=pid).
        port, admin = free_port(), free_port()
        with open("/etc/sluice/sluice.yaml") as f:
            text = f.read()
        self.assertIn("0.0.0.0:8080", text)
        self.assertIn("127.0.0.1:9901", text)
        text = text.replace("0.0.0.0:8080", "127.0.0.1:%d" % port).replace(
            "127.0.0.1:9901", "127.0.0.1:%d" % admin)
        os.chmod(self.tmp, 0o755)
        os.makedirs(os.path.join(self.tmp, "conf.d"))
        cfg = os.path.join(self.tmp, "sluice.yaml")
        with open(cfg, "w") as f:
            f.write(text)
        sock_path = os.path.join(self.tmp, "notify.sock")
        ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        ns.bind(sock_path)
        os.chmod(sock_path, 0o777)
        self.addCleanup(ns.close)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET": sock_path}
        if os.environ.get("ASAN_OPTIONS"):
            env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"]
        err = open(os.path.join(self.tmp, "stderr.log"), "wb")
        self.addCleanup(err.close)
        allowed = unit_syscall_allow_list(unit_service_settings(UNITS[0]), syscall_groups())
        if "libasan" in run("ldd", "/usr/sbin/sluice").stdout:
            allowed.add("ptrace")  # LeakSanitizer's stop-the-world at exit
        proc = subprocess.Popen(["/usr/sbin/sluice", "-c", cfg],
                                env=env, stdout=subprocess.DEVNULL, stderr=err,
                                stdin=subprocess.DEVNULL, cwd="/",
                                preexec_fn=UnitSandbox(allowed, mounts=True, user=user))
        self.addCleanup(lambda: proc.poll() is None and proc.kill())

        def expect(key):
            ns.settimeout(20)
            while True:
                try:
                    msg = ns.recv(4096).decode()
                except socket.timeout:
                    raise AssertionError("no %s from the installed sluice; stderr:\n%s" % (
                        key, open(err.name).read()))
                if key + "=1" in msg.split("\n"):
                    return msg

        expect("READY")
        with open("/proc/%d/status" % proc.pid) as f:
            uids = [l.split()[1:] for l in f if l.startswith("Uid:")][0]
        self.assertEqual(set(uids), {str(user.pw_uid)}, "runs as the sluice user")
        with open("/proc/%d/status" % proc.pid) as f:
            status = f.read()
        self.assertIn("NoNewPrivs:\t1", status)
        self.assertIn("Seccomp:\t2", status)
        self.assertEqual(http_request(admin, "GET", "/readyz", host="127.0.0.1").status, 200)
        r = http_request(port, "GET", "/")  # the default upstream is not running: 502
        self.assertEqual(r.status, 502)
        deadline = time.time() + 5
        while time.time() < deadline and not os.path.getsize("/var/log/sluice/access.log"):
            time.sleep(0.05)
        self.assertGreater(os.path.getsize("/var/log/sluice/access.log"), 0,
                           "the sluice user writes /var/log/sluice/access.log")
        proc.send_signal(signal.SIGHUP)  # ExecReload=/bin/kill -HUP $MAINPID
        expect("RELOADING")
        expect("READY")
        proc.send_signal(signal.SIGTERM)  # systemctl stop
        expect("STOPPING")
        self.assertEqual(proc.wait(timeout=30), 0)


if __name__ == "__main__":
    main()
