"""The HTTP ceiling beside `serve`, for the README's Performance table.

Drives, one after the other with the same load generator (wrk, 2 threads, 16 connections):
a loopback nginx whose location answers `return 200 '{}'` to every POST (the fastest HTTP/1.1
server at hand: what the kernel's TCP and one mature server allow here), and `breakerctl
serve`'s `POST /v1/admit` on a new store. Prints one JSON object with requests per second.

    apt-get install nginx-light wrk
    swift build -c release
    python3 Tests/Peers/http_ceiling.py --breakerctl .build/release/breakerctl --duration 10

Both servers listen on 127.0.0.1 only and are stopped at the end.
"""

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "ServeClients"))
from serve_process import ServeProcess  # noqa: E402

ADMIT = '{"tenant":"tenant-1","tool":"web_search","turn":"turn-1"}'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wrk(url: str, body: str, duration: int, workdir: str) -> float:
    script = os.path.join(workdir, "post.lua")
    with open(script, "w") as f:
        f.write('wrk.method = "POST"\n')
        f.write('wrk.headers["Content-Type"] = "application/json"\n')
        f.write(f"wrk.body = {json.dumps(body)}\n")
    out = subprocess.run(
        ["wrk", "-t2", "-c16", f"-d{duration}s", "-s", script, url], capture_output=True, text=True, timeout=duration + 60
    ).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError("wrk printed no rate:\n" + out)
    return float(m.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--breakerctl", required=True)
    parser.add_argument("--duration", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        port = free_port()
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(
                f"""worker_processes 2;
pid {work}/nginx.pid;
error_log {work}/error.log;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work};
    server {{
        listen 127.0.0.1:{port};
        location / {{ default_type application/json; return 200 '{{}}'; }}
    }}
}}
"""
            )
        nginx = subprocess.Popen(["nginx", "-c", conf, "-p", work], stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            nginx_rate = wrk(f"http://127.0.0.1:{port}/v1/admit", ADMIT, args.duration, work)
        finally:
            nginx.terminate()
            nginx.wait(30)
        serve = ServeProcess(os.path.abspath(args.breakerctl), os.path.join(work, "breaker.sqlite"))
        try:
            serve_rate = wrk(serve.url + "/v1/admit", ADMIT, args.duration, work)
        finally:
            serve.stop()
    print(
        json.dumps(
            {
                "scenario": "http-ceiling",
                "wrk": "-t2 -c16",
                "duration_s": args.duration,
                "nginx_posts_per_s": round(nginx_rate),
                "serve_admits_per_s": round(serve_rate),
                "ratio": round(serve_rate / nginx_rate, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
