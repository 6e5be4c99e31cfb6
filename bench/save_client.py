"""Sends a fixed number of Eximpe save-card requests over one keep-alive connection, the
bodies of workload (a) or (b) (bench.py's, as lua/eximpe_save.lua sends them), and checks
every status.

Used by instructions.sh, where the count of requests must be exact (wrk runs for a time).
Standard library only.
"""

import argparse
import json
import socket
import sys
import time

from bench import INVALID_BODY, VALID_BODY


def connect(port, wait):
    deadline = time.monotonic() + wait
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port))
        except OSError:
            if time.monotonic() > deadline:
                sys.exit(f"save_client: nothing answers on 127.0.0.1:{port}")
            time.sleep(0.1)


class Answers:
    """Reads answers with a Content-Length body off one connection."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            sys.exit("save_client: the server closed the connection")
        self.buffer += chunk

    def status(self):
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(self.buffer) < length:
            self._fill()
        self.buffer = self.buffer[length:]
        return int(lines[0].split(b" ")[1])


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--mode", choices=["valid", "invalid"], default="valid")
    parser.add_argument("--wait", type=float, default=10, help="seconds to wait for the server")
    args = parser.parse_args()

    sock = connect(args.port, args.wait)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    answers = Answers(sock)
    base = VALID_BODY if args.mode == "valid" else INVALID_BODY
    expected = 200 if args.mode == "valid" else 400
    wrong = 0
    for n in range(args.requests):
        body = json.dumps(base | {"identifier": f"count-{n}"}, separators=(",", ":")).encode()
        sock.sendall(
            b"POST /pg/tokens/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nX-Client-ID: bench-client\r\n"
            b"X-Client-Secret: bench-secret\r\nX-API-Version: 1.0.0\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        if answers.status() != expected:
            wrong += 1
    if wrong:
        sys.exit(f"save_client: {wrong} of {args.requests} answers were not {expected}")


if __name__ == "__main__":
    main()
