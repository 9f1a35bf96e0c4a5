#!/usr/bin/python3
"""Many server-streaming gRPC calls at once, for the adversarial tests; run in a process of its
own (see grpc_raw.py for why the tests never import grpc themselves).

argv: TARGET COUNT METHOD REQUEST(hex) MODE
Opens COUNT calls of METHOD, each on a channel of its own (so that one stalled connection cannot
hold up another), and waits until the server has answered each one's headers. Then, by MODE:
  stall    reads nothing until "read" comes on stdin, then reads each call to its end
  abandon  reads nothing, and exits at EOF on stdin (the server sees the connections close)
  follow   reads every call as fast as it can (counting messages) until "read" on stdin
stdout, one JSON object a line, flushed as soon as it is known:
  {"open": COUNT}                                  every call has its response headers
  {"ended": [{"code", "details", "messages"}]}    after "read": each call's end ("follow"
                                                   calls the server has not ended: "RUNNING")
"""
import json
import sys
import threading

import grpc  # python3-grpcio


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def drain(call, result):
    """Reads call to its end into result {"code", "details", "messages"}."""
    try:
        for _ in call:
            result["messages"] += 1
        result.update(code="OK", details="")
    except grpc.RpcError as e:
        result.update(code=e.code().name, details=e.details() or "")


def main():
    target, count, method, request, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        bytes.fromhex(sys.argv[4]), sys.argv[5]
    # No BDP probing: the client's window stays at its initial size, so a client that does not
    # read holds the server back as soon as that window is full.
    options = [("grpc.http2.bdp_probe", 0), ("grpc.max_receive_message_length", 64 << 20)]
    channels = [grpc.insecure_channel(target, options=options + [("vigil.test.channel", i)])
                for i in range(count)]
    calls = [c.unary_stream(method)(request) for c in channels]
    for call in calls:
        call.initial_metadata()  # The server has started the call (and sent a first message).
    results = [{"code": "RUNNING", "details": "", "messages": 0} for _ in calls]
    threads = []
    if mode == "follow":
        for call, result in zip(calls, results):
            t = threading.Thread(target=drain, args=(call, result), daemon=True)
            t.start()
            threads.append(t)
    emit({"open": count})
    line = sys.stdin.readline()
    if mode == "abandon" or line.strip() != "read":
        return
    if mode == "follow":
        ended = [dict(r) for r in results]  # As they are now: "RUNNING" unless ended.
        for call in calls:
            call.cancel()
        emit({"ended": ended})
        return
    for call, result in zip(calls, results):
        drain(call, result)
    emit({"ended": results})


if __name__ == "__main__":
    main()
