"""Test harness for sluice's end-to-end tests (Python 3.11 standard library only).

What is here:
  free_port()            a port the OS says is free now (bind 0, close; the race is accepted)
  Sluice                 the real binary as a context manager: config in a temp dir, stdout and
                         stderr to files, readiness through GET /readyz, clean stop, and a check
                         that stderr carries no sanitizer report
  Upstream               an upstreams.py server in its own process, with its request log
  Conn / read_response   raw-socket HTTP/1.1 client with exact message framing
  http_request           one request on a fresh connection (admin endpoints, quick checks)
  make_config            the YAML of a typical test config
"""

import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
UPSTREAMS_PY = os.path.join(HERE, "upstreams.py")

# Sanitizer reports that make a test fail when sluice prints them.
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                     "UndefinedBehaviorSanitizer", "ThreadSanitizer")


def sluice_binary():
    path = os.environ.get("SLUICE_BINARY")
    if not path:
        for cand in (os.path.join(HERE, "..", "..", "build", "sluice"),):
            if os.path.exists(cand):
                path = cand
                break
    if not path or not os.path.exists(path):
        raise RuntimeError("SLUICE_BINARY is not set or does not exist: %r" % path)
    return os.path.abspath(path)


def source_dir():
    return os.path.abspath(os.environ.get("SLUICE_SOURCE_DIR", os.path.join(HERE, "..", "..")))


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def sluice_env():
    """The environment sluice runs in. ASan's quarantine (256 MiB by default) keeps freed memory
    resident, which would make every RSS bound meaningless; a small one still catches
    use-after-free of recent allocations."""
    env = dict(os.environ)
    opts = env.get("ASAN_OPTIONS", "")
    if "quarantine_size_mb" not in opts:
        opts = (opts + ":" if opts else "") + "quarantine_size_mb=4"
    env["ASAN_OPTIONS"] = opts
    return env


# --------------------------------------------------------------------------------------------
# Raw HTTP/1.1 client
# --------------------------------------------------------------------------------------------

class ProtocolError(Exception):
    pass


class Response:
    def __init__(self, version, status, reason, headers, body=b"", interim=None):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # list of (name, value) as received
        self.body = body
        self.interim = interim or []    # 1xx responses received before this one
        self.chunked = False
        self.close_delimited = False
        self.body_len = len(body)
        self.sha256 = None

    def header(self, name, default=None):
        """The value of the single header `name` (case-insensitive); a repeated header is
        joined with ', '."""
        vals = [v for k, v in self.headers if k.lower() == name.lower()]
        if not vals:
            return default
        return ", ".join(vals)

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def has(self, name):
        return any(k.lower() == name.lower() for k, _ in self.headers)

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return "<Response %s %d %r headers=%r body=%r>" % (
            self.version, self.status, self.reason, self.headers, self.body[:200])


class Conn:
    """One client connection with its own read buffer, so responses can be read one after
    another (keep-alive, pipelining) with exact framing."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect((host, port))
        except BaseException:
            self.sock.close()
            raise
        self.buf = bytearray()
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self, n=262144):
        if self.eof:
            return False
        data = self.sock.recv(n)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_line(self, limit=1 << 20):
        """A line ending in CRLF (or bare LF, which is reported by returning it as is)."""
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise ProtocolError("line too long")
            if not self._fill():
                raise ProtocolError("connection closed in the middle of a line: %r"
                                    % bytes(self.buf[:200]))

    def read_exact(self, n, sink=None):
        """n bytes; given `sink`, the bytes are passed to it in pieces instead of returned."""
        out = bytearray() if sink is None else None
        while n > 0:
            if not self.buf and not self._fill():
                raise ProtocolError("connection closed with %d body bytes missing" % n)
            take = min(n, len(self.buf))
            piece = bytes(self.buf[:take])
            del self.buf[:take]
            n -= take
            if sink is None:
                out += piece
            else:
                sink(piece)
        return bytes(out) if out is not None else b""

    def read_to_eof(self, sink=None):
        out = bytearray()
        while True:
            if self.buf:
                piece = bytes(self.buf)
                self.buf.clear()
                if sink is None:
                    out += piece
                else:
                    sink(piece)
            if not self._fill():
                return bytes(out)

    def read_head(self):
        """(version, status, reason, headers) of the next response head."""
        line = self.read_line()
        if not line.endswith(b"\r\n"):
            raise ProtocolError("status line without CRLF: %r" % line)
        m = re.match(rb"^(HTTP/\d\.\d) (\d{3}) ?(.*)\r\n$", line)
        if not m:
            raise ProtocolError("bad status line: %r" % line)
        version, status, reason = m.group(1).decode(), int(m.group(2)), m.group(3).decode("latin-1")
        headers = []
        total = len(line)
        while True:
            line = self.read_line()
            total += len(line)
            if total > 1 << 20:
                raise ProtocolError("response head too large")
            if line == b"\r\n":
                break
            if not line.endswith(b"\r\n"):
                raise ProtocolError("header line without CRLF: %r" % line)
            if line[:1] in (b" ", b"\t"):
                raise ProtocolError("obs-fold in a response: %r" % line)
            name, sep, value = line[:-2].partition(b":")
            if not sep or not name or name != name.strip() or re.search(rb"[\x00-\x20\x7f]", name):
                raise ProtocolError("bad header line: %r" % line)
            headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
        return version, status, reason, headers

    def read_response(self, method="GET", sink=None, interim=False):
        """The next response, framed per RFC 9112 §6.3. 1xx responses are collected into
        `.interim` of the final one, unless interim=True, which returns the first response of
        any kind (to see a 100 Continue before sending a body). With `sink`, body bytes go to it;
        `.body_len` and `.sha256` are set either way."""
        interims = []
        while True:
            version, status, reason, headers = self.read_head()
            resp = Response(version, status, reason, headers)
            if 100 <= status < 200 and status != 101:
                if interim:
                    return resp
                interims.append(resp)
                continue
            break
        resp.interim = interims
        h = hashlib.sha256()
        count = [0]
        body = bytearray()

        def take(piece):
            h.update(piece)
            count[0] += len(piece)
            if sink is None:
                body.extend(piece)
            else:
                sink(piece)

        te = resp.header("transfer-encoding")
        cls = resp.header_all("content-length")
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif method == "CONNECT" and 200 <= status < 300:
            pass
        elif te is not None:
            codings = [c.strip().lower() for c in te.split(",")]
            if codings[-1] != "chunked":
                resp.close_delimited = True
                self.read_to_eof(take)
            else:
                resp.chunked = True
                self._read_chunked(take, resp)
            if cls:
                raise ProtocolError("response with both Transfer-Encoding and Content-Length")
        elif cls:
            vals = set(v.strip() for c in cls for v in c.split(","))
            if len(vals) != 1 or not re.fullmatch(r"\d+", next(iter(vals))):
                raise ProtocolError("bad Content-Length in response: %r" % cls)
            self.read_exact(int(next(iter(vals))), take)
        else:
            resp.close_delimited = True
            self.read_to_eof(take)
        resp.body = bytes(body)
        resp.body_len = count[0]
        resp.sha256 = h.hexdigest()
        return resp

    def _read_chunked(self, take, resp):
        while True:
            line = self.read_line()
            if not line.endswith(b"\r\n"):
                raise ProtocolError("chunk size line without CRLF: %r" % line)
            size_text = line[:-2].split(b";", 1)[0].strip(b" \t")
            if not re.fullmatch(rb"[0-9a-fA-F]+", size_text):
                raise ProtocolError("bad chunk size line: %r" % line)
            size = int(size_text, 16)
            if size == 0:
                break
            self.read_exact(size, take)
            if self.read_exact(2) != b"\r\n":
                raise ProtocolError("chunk data not followed by CRLF")
        trailers = []
        while True:
            line = self.read_line()
            if line == b"\r\n":
                break
            name, _, value = line[:-2].partition(b":")
            trailers.append((name.decode("latin-1"), value.strip().decode("latin-1")))
        resp.trailers = trailers

    def request(self, method, target, headers=None, body=None, host="test.local",
                version="HTTP/1.1", sink=None):
        """Send one request (Content-Length framed when there is a body) and read the answer."""
        self.send(build_request(method, target, headers, body, host, version))
        return self.read_response(method, sink=sink)

    def is_closed(self, timeout=3.0):
        """True when the peer closes (EOF or reset) within `timeout` and sent nothing else;
        False when the connection is still open then. Extra bytes are a protocol error."""
        if self.buf:
            raise ProtocolError("unexpected bytes after the response: %r" % bytes(self.buf[:200]))
        if self.eof:
            return True
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass
        if data:
            raise ProtocolError("unexpected bytes after the response: %r" % data[:200])
        self.eof = True
        return True


def build_request(method, target, headers=None, body=None, host="test.local",
                  version="HTTP/1.1"):
    lines = ["%s %s %s" % (method, target, version)]
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in hdrs}
    if host is not None and "host" not in names:
        lines.append("Host: %s" % host)
    for k, v in hdrs:
        lines.append("%s: %s" % (k, v))
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        if "content-length" not in names and "transfer-encoding" not in names:
            lines.append("Content-Length: %d" % len(body))
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head + (body or b"")


def echo_headers(resp):
    """The request headers an echo upstream saw: lower-cased name -> list of values."""
    out = {}
    for k, v in resp.json()["headers"]:
        out.setdefault(k.lower(), []).append(v)
    return out


def chunked(data, size=4096):
    """`data` in chunked transfer coding, chunks of `size`."""
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


def http_request(port, method="GET", target="/", headers=None, body=None, host="test.local",
                 timeout=10.0):
    """One request on a fresh connection, `Connection: close`; returns the Response."""
    hdrs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    if not any(k.lower() == "connection" for k, _ in hdrs):
        hdrs.append(("Connection", "close"))
    with Conn(port, timeout=timeout) as c:
        return c.request(method, target, hdrs, body, host=host)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------

_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\S+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """[(name, {label: value}, float)] of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            continue
        labels = dict(_LABEL.findall(m.group(3) or ""))
        try:
            val = float(m.group(4))
        except ValueError:
            continue
        out.append((m.group(1), labels, val))
    return out


def metric_sum(text, name, **labels):
    """Sum of the samples of `name` whose labels include `labels`."""
    total = 0.0
    for n, l, v in parse_metrics(text):
        if n == name and all(l.get(k) == str(val) for k, val in labels.items()):
            total += v
    return total


def clear_of_window_boundary(window_s, margin_s=5.0):
    """Waits out the end of a fixed window when fewer than `margin_s` seconds of it are left.

    Fixed windows are aligned to multiples of their length on CLOCK_MONOTONIC, the clock of
    both time.monotonic() and sluice's limiters, so a test that counts requests into one
    window starts clear of the boundary instead of failing when a new window opens midway."""
    left = window_s - time.monotonic() % window_s
    if left < margin_s:
        time.sleep(left + 0.05)


# --------------------------------------------------------------------------------------------
# Config
# --------------------------------------------------------------------------------------------

def make_config(upstreams, routes, limits=None, workers=2, extra="", upstream_opts=None):
    """YAML for a test: `upstreams` maps name -> port (or list of ports); `routes` is a list of
    YAML flow mappings (strings); `limits` maps key -> value; `upstream_opts` maps name -> a
    dict of extra keys (values as YAML text). $PORT, $ADMIN and $DIR are filled by Sluice."""
    lim = {"header_timeout": "2s"}
    lim.update(limits or {})
    lines = ["workers: %d" % workers,
             "admin: {address: 127.0.0.1:$ADMIN}",
             "access_log: {path: $DIR/access.log}",
             "limits: {%s}" % ", ".join("%s: %s" % kv for kv in lim.items()),
             "listeners: [{name: main, address: 127.0.0.1:$PORT}]",
             "upstreams:"]
    for name, ports in upstreams.items():
        if isinstance(ports, int):
            ports = [ports]
        opts = {"keepalive": "8", "timeouts": "{connect: 1s, response: 2s}"}
        opts.update((upstream_opts or {}).get(name, {}))
        targets = ", ".join("{address: 127.0.0.1:%d}" % p for p in ports)
        lines.append("  - {name: %s, targets: [%s], %s}" % (
            name, targets, ", ".join("%s: %s" % kv for kv in opts.items())))
    lines.append("routes:")
    for r in routes:
        lines.append("  - " + r)
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------------------------

def _stop_process(proc, term_timeout=10.0):
    if proc.poll() is not None:
        return proc.returncode
    try:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=term_timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(timeout=10)
    except ProcessLookupError:
        return proc.wait()


class Upstream:
    """An upstreams.py server in its own process. `mode` as in upstreams.py; `args` are extra
    command-line arguments (e.g. ["--delay", "2"]). The port is picked by the server itself."""

    def __init__(self, mode, *args, tmpdir=None):
        self.mode = mode
        self.args = [str(a) for a in args]
        self._own_dir = tmpdir is None
        self.dir = tmpdir or tempfile.mkdtemp(prefix="sluice-up-")
        self.log_path = os.path.join(self.dir, "%s-%d.jsonl" % (mode, id(self)))
        self.proc = None
        self.port = None

    def start(self):
        open(self.log_path, "w").close()
        self.stderr = open(os.path.join(self.dir, "upstream-%d.err" % id(self)), "w")
        self.proc = subprocess.Popen(
            [sys.executable, UPSTREAMS_PY, self.mode, "--port", "0", "--log", self.log_path]
            + self.args, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        deadline = time.time() + 10
        r, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline() if r else ""
        if not line.startswith("ready"):
            self.stop()
            raise RuntimeError("upstream %s did not start: %r" % (self.mode, line))
        self.port = int(line.split()[1])
        del deadline
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc.stdout.close()
            self.stderr.close()
            self.proc = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def entries(self):
        """Every event the server logged, oldest first (requests and raw bytes alike)."""
        out = []
        try:
            with open(self.log_path) as f:
                for line in f:
                    line = line.strip()
                    if line:
                        out.append(json.loads(line))
        except FileNotFoundError:
            pass
        return out

    def requests(self):
        return [e for e in self.entries() if e.get("event") == "request"]

    def mark(self):
        return len(self.entries())

    def entries_since(self, mark):
        return self.entries()[mark:]

    def requests_since(self, mark):
        return [e for e in self.entries_since(mark) if e.get("event") == "request"]


class Sluice:
    """The sluice binary under test. `config` is YAML text with $PORT, $ADMIN, $DIR filled in
    here. Use as a context manager; stop() returns the exit code. At exit, a sanitizer report on
    stderr raises AssertionError."""

    def __init__(self, config, ready_timeout=10.0, wait_ready=True, env=None):
        self.extra_env = env or {}
        self.dir = tempfile.mkdtemp(prefix="sluice-test-")
        self.port = free_port()
        self.admin_port = free_port()
        self.config_path = os.path.join(self.dir, "sluice.yaml")
        self.stdout_path = os.path.join(self.dir, "stdout.log")
        self.stderr_path = os.path.join(self.dir, "stderr.log")
        self.access_log_path = os.path.join(self.dir, "access.log")
        self.ready_timeout = ready_timeout
        self.wait_ready = wait_ready
        self.proc = None
        self.exit_code = None
        self.write_config(config)

    def fill(self, text):
        return (text.replace("$PORT", str(self.port)).replace("$ADMIN", str(self.admin_port))
                .replace("$DIR", self.dir))

    def write_config(self, text):
        """Atomically replace the config file (a reload must never see half a file).

        With SLUICE_IO set (auto, uring, epoll), a config without its own `io:` gets that key, so
        the whole suite can run on either socket backend."""
        text = self.fill(text)
        io = os.environ.get("SLUICE_IO")
        if io and not re.search(r"^io:", text, re.M):
            text = "%s\nio: %s\n" % (text.rstrip("\n"), io)  # last: error line numbers stay
        tmp = self.config_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.config_path)

    def start(self):
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([sluice_binary(), "-c", self.config_path],
                                     stdout=self._out, stderr=self._err, cwd=self.dir,
                                     env=dict(sluice_env(), **self.extra_env),
                                     stdin=subprocess.DEVNULL)
        if self.wait_ready:
            try:
                self.wait_until_ready()
            except BaseException:
                self.stop()
                self._cleanup()
                raise
        return self

    def wait_until_ready(self, timeout=None):
        deadline = time.time() + (timeout or self.ready_timeout)
        last = None
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("sluice exited with %d before it was ready; stderr:\n%s"
                                   % (self.proc.returncode, self.stderr_text()))
            try:
                r = self.admin("GET", "/readyz", timeout=2)
                if r.status == 200:
                    return
                last = r.status
            except (OSError, ProtocolError) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError("sluice not ready within the timeout (last: %r); stderr:\n%s"
                           % (last, self.stderr_text()))

    def __enter__(self):
        return self.start()

    def __exit__(self, exc_type, exc, tb):
        try:
            self.stop()
            self.check_sanitizers()
        finally:
            self._cleanup()

    def _cleanup(self):
        if os.environ.get("SLUICE_KEEP_TMP"):
            sys.stderr.write("sluice test dir kept: %s\n" % self.dir)
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=15.0):
        """SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code (negative for a
        signal, as subprocess reports it)."""
        if self.proc is None:
            return None
        if self.exit_code is None:
            self.exit_code = _stop_process(self.proc, timeout)
        for f in (self._out, self._err):
            try:
                f.close()
            except OSError:
                pass
        return self.exit_code

    def wait(self, timeout):
        """Wait for the process to exit by itself; returns its exit code."""
        self.exit_code = self.proc.wait(timeout=timeout)
        return self.exit_code

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def check_sanitizers(self):
        text = self.stderr_text()
        for marker in SANITIZER_MARKERS:
            if marker in text:
                raise AssertionError("sluice stderr has a sanitizer report (%s):\n%s"
                                     % (marker, text[-20000:]))

    def access_log_lines(self):
        """Parsed JSON objects of the access log (a line that is not JSON raises)."""
        try:
            with open(self.access_log_path) as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def _proc_status(self, key):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    def rss_kib(self):
        """Current resident set size (VmRSS) in KiB."""
        return self._proc_status("VmRSS")

    def peak_rss_kib(self):
        """Peak resident set size since start (VmHWM) in KiB."""
        return self._proc_status("VmHWM")

    def admin(self, method="GET", path="/", body=None, timeout=10.0, headers=None):
        return http_request(self.admin_port, method, path, headers=headers, body=body,
                            host="127.0.0.1", timeout=timeout)

    def metrics(self):
        r = self.admin("GET", "/metrics")
        if r.status != 200:
            raise AssertionError("/metrics answered %d" % r.status)
        return r.body.decode()

    def reloads_total(self):
        return metric_sum(self.metrics(), "sluice_config_reloads_total")

    def reload(self, config=None, via="http", timeout=10.0):
        """Write `config` (if given) and reload. via="http": POST /reload, returns the Response.
        via="signal": SIGHUP, then wait until sluice_config_reloads_total moves; returns None."""
        if via == "http":
            if config is not None:
                self.write_config(config)
            return self.admin("POST", "/reload", body=b"", timeout=timeout)
        before = self.reloads_total()
        if config is not None:
            self.write_config(config)
        self.signal(signal.SIGHUP)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.reloads_total() > before:
                return None
            time.sleep(0.01)
        raise AssertionError("SIGHUP reload not reflected in sluice_config_reloads_total")

    def request(self, method="GET", target="/", headers=None, body=None, host="test.local",
                timeout=10.0):
        return http_request(self.port, method, target, headers, body, host, timeout)

    def conn(self, timeout=10.0, rcvbuf=None):
        return Conn(self.port, timeout=timeout, rcvbuf=rcvbuf)


def run_sluice(args, timeout=30, cwd=None):
    """Run the binary to completion (for -t, -T, --version); returns CompletedProcess."""
    return subprocess.run([sluice_binary()] + list(args), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=sluice_env(), stdin=subprocess.DEVNULL)


def assert_no_sanitizer(testcase, text):
    for marker in SANITIZER_MARKERS:
        testcase.assertNotIn(marker, text)


def pattern_bytes(offset, n):
    """The deterministic byte pattern of upstreams.py `big`: byte i is (i * 31 + 7) & 0xff."""
    return bytes(((i * 31 + 7) & 0xFF) for i in range(offset, offset + n))


_PATTERN_BLOCK = pattern_bytes(0, 256 * 4096)  # period 256, so any 256-aligned slice repeats


def pattern_sha256(n):
    h = hashlib.sha256()
    full, rest = divmod(n, len(_PATTERN_BLOCK))
    for _ in range(full):
        h.update(_PATTERN_BLOCK)
    h.update(_PATTERN_BLOCK[:rest])
    return h.hexdigest()


def main():
    """unittest.main that exits non-zero on failure (it does by default) with verbose output."""
    import unittest
    unittest.main(verbosity=2)


import unittest  # noqa: E402  (kept beside the class that needs it)


class ProxyTestCase(unittest.TestCase):
    """One sluice and its upstreams shared by the tests of a class.

    UPSTREAMS maps a name to (mode, extra args...); config(ports) returns the YAML given the
    port of each upstream by name. Upstreams are self.up[name]; sluice is self.sluice."""

    UPSTREAMS = {}

    @classmethod
    def config(cls, ports):
        raise NotImplementedError

    @classmethod
    def setUpClass(cls):
        cls.up = {}
        cls.sluice = None
        try:
            for name, spec in cls.UPSTREAMS.items():
                cls.up[name] = Upstream(spec[0], *spec[1:]).start()
            cls.sluice = Sluice(cls.config({n: u.port for n, u in cls.up.items()})).start()
        except BaseException:
            cls._teardown()
            raise

    @classmethod
    def _teardown(cls):
        try:
            if cls.sluice is not None:
                cls.sluice.__exit__(None, None, None)
        finally:
            for u in cls.up.values():
                u.stop()

    @classmethod
    def tearDownClass(cls):
        cls._teardown()

    def conn(self, timeout=10.0, rcvbuf=None):
        c = Conn(self.sluice.port, timeout=timeout, rcvbuf=rcvbuf)
        self.addCleanup(c.close)
        return c


# --------------------------------------------------------------------------------------------
# WebSocket client (RFC 6455)
# --------------------------------------------------------------------------------------------

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def ws_accept(key):
    import base64
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def ws_handshake(conn, target="/ws", host="test.local", extra=()):
    """Sends the opening handshake on `conn`; returns (key, Response)."""
    import base64
    key = base64.b64encode(os.urandom(16)).decode()
    hdrs = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
            ("Sec-WebSocket-Version", "13")] + list(extra)
    conn.send(build_request("GET", target, hdrs, host=host))
    return key, conn.read_response()


def ws_send(conn, opcode, payload, fin=True):
    """A masked client frame."""
    mask = os.urandom(4)
    head = bytearray([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head.append(0x80 | n)
    elif n < 65536:
        head.append(0x80 | 126)
        head += n.to_bytes(2, "big")
    else:
        head.append(0x80 | 127)
        head += n.to_bytes(8, "big")
    m = (mask * (n // 4 + 1))[:n]
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big") \
        if n else b""
    conn.send(bytes(head) + mask + masked)


def ws_recv(conn):
    """(fin, opcode, masked, payload) of the next frame from the server."""
    b = conn.read_exact(2)
    fin, opcode = bool(b[0] & 0x80), b[0] & 0x0F
    masked, n = bool(b[1] & 0x80), b[1] & 0x7F
    if n == 126:
        n = int.from_bytes(conn.read_exact(2), "big")
    elif n == 127:
        n = int.from_bytes(conn.read_exact(8), "big")
    mask = conn.read_exact(4) if masked else None
    payload = conn.read_exact(n)
    if mask:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
    return fin, opcode, masked, payload
