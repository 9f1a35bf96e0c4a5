#!/usr/bin/python3
"""Raw unary gRPC calls for the kubelet-simulation tests, run in a process of its own: gRPC
Python's threads make a later fork() of the test process (every subprocess it starts) deadlock
now and then, so the tests never import grpc themselves.

stdin: {"target": "unix:/path" or "host:port", "calls": [{"method": "/pkg.Service/Method",
"request": HEX, "token": str or null, "timeout": seconds, "pause": seconds idle before it}]}
stdout: [{"code": "OK" or a grpc.StatusCode name, "details": str, "response": HEX}]
"""
import json
import sys
import time

import grpc  # python3-grpcio


def main():
    spec = json.load(sys.stdin)
    out = []
    with grpc.insecure_channel(spec["target"]) as channel:
        for call in spec["calls"]:
            time.sleep(call.get("pause", 0))  # The channel left idle, as a sidecar's would be.
            method = channel.unary_unary(call["method"])  # No serializers: bytes in and out.
            token = call.get("token")
            metadata = [("authorization", f"Bearer {token}")] if token is not None else None
            try:
                response = method(bytes.fromhex(call["request"]), timeout=call.get("timeout", 10),
                                  metadata=metadata)
                out.append({"code": "OK", "details": "", "response": response.hex()})
            except grpc.RpcError as e:
                out.append({"code": e.code().name, "details": e.details() or "", "response": ""})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
