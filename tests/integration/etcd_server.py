"""A real etcd (Debian's etcd-server, /usr/bin/etcd) for the discovery tests: one member on
loopback ports the OS picked, in a temporary data directory, written to through its JSON gateway
(HTTP/1.1, keys and values in base64) with urllib. Standard library only."""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

from harness import free_port

ETCD_BINARY = os.environ.get("ETCD_BINARY", "/usr/bin/etcd")


def b64(text):
    return base64.b64encode(text.encode()).decode()


def prefix_end(prefix):
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class EtcdServer:
    """start() launches the member and waits until it answers; kill() ends it at once (SIGKILL);
    start() again reuses the data directory and the same ports (`client_port` may be given to
    listen elsewhere, so a change can be made where sluice does not look)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="sluice-etcd-")
        self.data_dir = os.path.join(self.dir, "data")
        self.port = free_port()
        self.peer_port = free_port()
        self.proc = None
        self.log = None
        self.url = None

    def start(self, client_port=None, timeout=15.0):
        port = client_port or self.port
        client = "http://127.0.0.1:%d" % port
        peer = "http://127.0.0.1:%d" % self.peer_port
        self.log = open(os.path.join(self.dir, "etcd.log"), "ab")
        self.proc = subprocess.Popen(
            [ETCD_BINARY, "--name", "default", "--data-dir", self.data_dir,
             "--listen-client-urls", client, "--advertise-client-urls", client,
             "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", "default=" + peer],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        self.url = client
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("etcd exited with %d; see %s" % (self.proc.returncode, self.dir))
            try:
                self.call("/v3/kv/range", {"key": b64("/")}, timeout=1)
                return self
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("etcd did not answer within %.0f s" % timeout)

    def kill(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def remove(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, path, body, timeout=5.0):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"},
                                     method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def put(self, key, value, lease=None):
        body = {"key": b64(key), "value": b64(value)}
        if lease is not None:
            body["lease"] = str(lease)
        return int(self.call("/v3/kv/put", body)["header"]["revision"])

    def delete(self, key):
        return int(self.call("/v3/kv/deleterange", {"key": b64(key)})["header"]["revision"])

    def grant(self, ttl):
        return int(self.call("/v3/lease/grant", {"TTL": str(ttl)})["ID"])

    def keys(self, prefix):
        r = self.call("/v3/kv/range", {"key": b64(prefix), "range_end": b64(prefix_end(prefix))})
        return {base64.b64decode(kv["key"]).decode(): base64.b64decode(kv.get("value", "")).decode()
                for kv in r.get("kvs", [])}
