#!/usr/bin/python3
"""A real gRPC server (python3-grpcio, Debian) for the tests: generic handlers on raw bytes, so
no generated code is needed. Listens on 127.0.0.1 (h2c), port picked by the OS; prints
"ready PORT" when serving. Methods of service `test.Echo`:

  Unary         echoes the request; trailing metadata x-trailer: done; metadata x-fail: CODE
                makes it fail with that status code name (e.g. NOT_FOUND) and message "asked"
  Slow          sleeps the request's text as seconds before answering (deadline tests)
  ServerStream  answers N messages "i:<n>" where N is the request's text
  ClientStream  answers the concatenation of every request message
  Bidi          answers each request message as it arrives, upper-cased
Run with /usr/bin/python3 (grpcio is installed for Debian's interpreter)."""

import argparse
import sys
import time
from concurrent import futures

import grpc


def unary(request, context):
    fail = dict(context.invocation_metadata()).get("x-fail")
    if fail:
        context.abort(getattr(grpc.StatusCode, fail), "asked")
    context.set_trailing_metadata((("x-trailer", "done"),))
    return request


def slow(request, context):
    end = time.time() + float(request.decode() or "0")
    while time.time() < end and context.is_active():
        time.sleep(0.02)
    return b"late"


def server_stream(request, context):
    for i in range(int(request.decode())):
        yield b"i:%d" % i


def client_stream(request_iterator, context):
    return b"".join(request_iterator)


def bidi(request_iterator, context):
    for m in request_iterator:
        yield m.upper()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary),
        "Slow": grpc.unary_unary_rpc_method_handler(slow),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi),
    }
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Echo", handlers),))
    port = server.add_insecure_port("127.0.0.1:%d" % a.port)
    server.start()
    print("ready %d" % port, flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    sys.exit(main())
