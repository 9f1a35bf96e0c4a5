#!/usr/bin/python3
"""One raw server-streaming gRPC call for the kubelet-simulation tests, run in a process of its
own (see grpc_raw.py for why the tests never import grpc themselves).

argv: TARGET ("unix:/path" or "host:port") METHOD ("/pkg.Service/Method") REQUEST (hex)
stdout: one JSON object a line, flushed as soon as it is known:
  {"message": HEX}                        for every message of the stream
  {"code": "OK" or a grpc.StatusCode name, "details": str}   once, when the stream ends
"""
import json
import sys

import grpc  # python3-grpcio


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    target, method, request = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
    with grpc.insecure_channel(target) as channel:
        call = channel.unary_stream(method)(request)  # No serializers: bytes in and out.
        try:
            for message in call:
                emit({"message": message.hex()})
            emit({"code": "OK", "details": ""})
        except grpc.RpcError as e:
            emit({"code": e.code().name, "details": e.details() or ""})


if __name__ == "__main__":
    main()
