#!/usr/bin/env bash
# callgrind_request.sh SLUICE_BINARY LABEL: callgrind instructions per proxied request (one
# worker, nginx upstream serving a 6-byte file,
# ab -k -c 1 keep-alive GETs: 200 warm-up, then 2000 measured with instrumentation on).
# Needs valgrind, nginx, ab and curl. Scratch files go to /tmp/sluice-callgrind/LABEL.
set -euo pipefail
bin=$1; label=$2
d=/tmp/sluice-callgrind/$label; rm -rf $d; mkdir -p $d/www
echo hello > $d/www/index.html
np=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
sp=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
ap=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
cat > $d/nginx.conf <<NG
daemon off; worker_processes 1; pid $d/nginx.pid; error_log $d/nginx.err;
events { worker_connections 256; }
http { access_log off; server { listen 127.0.0.1:$np; root $d/www; keepalive_requests 100000; } }
NG
cat > $d/sluice.yaml <<SL
workers: 1
admin: {address: 127.0.0.1:$ap}
listeners: [{name: main, address: 127.0.0.1:$sp}]
upstreams:
  - {name: web, targets: [{address: 127.0.0.1:$np}], keepalive: 8}
routes:
  - {name: all, match: {path_prefix: /}, upstream: web}
SL
nginx -c $d/nginx.conf -p $d & ngpid=$!
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$d/cg.out $bin -c $d/sluice.yaml > $d/sluice.out 2>&1 & vpid=$!
for i in $(seq 100); do curl -fs -o /dev/null http://127.0.0.1:$sp/index.html && break; sleep 0.2; done
ab -q -k -n 200 -c 1 http://127.0.0.1:$sp/index.html > /dev/null
callgrind_control -i on $vpid > /dev/null
ab -q -k -n 2000 -c 1 http://127.0.0.1:$sp/index.html > $d/ab.txt
callgrind_control -i off $vpid > /dev/null
kill -TERM $vpid; wait $vpid || true
kill $ngpid; wait $ngpid || true
grep "Failed requests\|Complete requests" $d/ab.txt
total=$(callgrind_annotate $d/cg.out 2>/dev/null | grep "PROGRAM TOTALS" | awk '{gsub(",","",$1); print $1}')
echo "$label: total Ir $total, per request $((total / 2000))"
