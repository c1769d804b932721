"""Run a local Spark Connect server for cintel's Spark engine, from the pip-installed pyspark.

    python scripts/spark_connect.py [--port 15002] [--master local[2]] [--log FILE]

Starts ``SparkConnectServer`` with pyspark's own ``spark-submit`` (the wheel ships the
server jar), waits until the port answers, prints ``sc://localhost:PORT`` on one line of
standard output and serves until Ctrl-C or SIGTERM, then stops the server (its JVM and
Python workers) and exits 0. Clients then run with ``SPARK_REMOTE=sc://localhost:PORT``.
The server gets the engine's settings (``training.spark.session.ENGINE_CONF``) and, in
local mode, the local session's; its Python workers run this interpreter, whose
environment must have cintel installed. The server's log goes to ``--log``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from training.spark.session import DEFAULT_MASTER, ENGINE_CONF, local_conf

SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
DEFAULT_PORT = 15002  # Spark Connect's own default
START_TIMEOUT = 180.0  # seconds; a loaded two-core machine starts it in 10-20 s


@dataclass
class ConnectServer:
    """A running server: its process (the JVM, leader of its own process group) and port."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"sc://localhost:{self.port}"

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM to the server's process group (Spark's shutdown hook stops the context and
        its Python workers), SIGKILL after ``timeout``; the JVM's exit code."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


def spark_home() -> Path:
    """The pyspark package folder, which holds bin/spark-submit and the jars."""
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def server_command(port: int, master: str = DEFAULT_MASTER) -> list[str]:
    """``spark-submit`` arguments that start the Connect server on ``port``."""
    conf = {"spark.connect.grpc.binding.port": str(port), **ENGINE_CONF}
    if master.startswith("local"):
        conf.update(local_conf())
    args = [str(spark_home() / "bin" / "spark-submit"), "--class", SERVER_CLASS]
    args += ["--name", "cintel Spark Connect", "--master", master]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    return args


def server_env() -> dict[str, str]:
    """This environment, with Python workers on this interpreter and no client settings
    (``spark-submit`` would take ``SPARK_REMOTE`` as a request to be a Connect client)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE")
    }
    env.update(SPARK_HOME=str(spark_home()), PYSPARK_PYTHON=sys.executable)
    env.update(SPARK_CONNECT_MODE="0")  # as pyspark's sbin/start-connect-server.sh sets
    return env


def port_answers(port: int) -> bool:
    """Whether something accepts TCP connections on localhost:``port``."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    """A TCP port nothing listens on now (the OS's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    port: int = DEFAULT_PORT,
    master: str = DEFAULT_MASTER,
    log: Path | None = None,
    timeout: float = START_TIMEOUT,
) -> ConnectServer:
    """Start the server and return once its port answers; ``RuntimeError`` (with the end of
    the log) when the port is taken, the server exits or ``timeout`` seconds pass."""
    if port_answers(port):
        raise RuntimeError(f"port {port} is already in use; choose another with --port")
    if log is None:
        log = Path(tempfile.mkdtemp(prefix="cintel-spark-connect-")) / "server.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            server_command(port, master),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=server_env(),
            cwd=log.parent,  # the server's spark-warehouse/ and the like go beside the log
            start_new_session=True,
        )
    server = ConnectServer(process, port, log)
    deadline = time.monotonic() + timeout
    try:
        while not port_answers(port):
            exited = process.poll() is not None
            if exited or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
                why = "exited" if exited else f"did not answer within {timeout:.0f} s"
                raise RuntimeError(f"the Spark Connect server {why} ({log}):\n{tail}")
            time.sleep(0.5)
    except BaseException:  # a failed start or a stop request: leave nothing running
        server.stop()
        raise
    return server


def _stop_on(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(signum)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="gRPC port [15002]")
    parser.add_argument(
        "--master", default=DEFAULT_MASTER, help=f"the server's master [{DEFAULT_MASTER}]"
    )
    parser.add_argument("--log", type=Path, default=None, help="server log [a temp file]")
    parser.add_argument("--timeout", type=float, default=START_TIMEOUT, help="start-up limit, s")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on)
    try:
        server = start(args.port, args.master, args.log, args.timeout)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(server.url, flush=True)
    note = f"Spark Connect server at {server.url} (log: {server.log}); Ctrl-C stops it"
    print(note, file=sys.stderr)
    try:
        code = server.process.wait()
        print(f"error: the server exited with code {code}; see {server.log}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        server.stop()
        return 0


if __name__ == "__main__":
    sys.exit(main())
