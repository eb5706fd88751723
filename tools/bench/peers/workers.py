"""Client side of the worker protocol (PROTOCOL.md): start an engine's worker process, send it commands,
read its answers, and see which native libraries it really loaded."""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "reference"))
import runtime_info  # noqa: E402

FAIR_ENV = os.path.join(HERE, "fair-env.sh")


class WorkerError(RuntimeError):
    pass


class Worker:
    def __init__(self, engine, argv, log_dir, env=None):
        self.engine = engine
        self.argv = argv
        self.log_path = os.path.join(log_dir, f"{engine}.log")
        self.log = open(self.log_path, "w")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log,
                                         text=True, bufsize=1, env=env)
        except OSError as e:
            raise WorkerError(f"{engine}: cannot start {argv[0]}: {e}")

    @property
    def pid(self):
        return self.proc.pid

    def call(self, cmd, **fields):
        """Sends one command and returns its answer; raises WorkerError (with the log's tail) on failure."""
        try:
            self.proc.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise WorkerError(f"{self.engine}: the worker has exited{self._tail()}")
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                raise WorkerError(f"{self.engine}: the worker exited (status {self.proc.returncode}) "
                                  f"during '{cmd}'{self._tail()}")
            try:
                answer = json.loads(line)
            except json.JSONDecodeError:
                self.log.write(f"[stdout, not protocol] {line}")  # a library printed to stdout
                continue
            if isinstance(answer, dict) and "ok" in answer:
                break
        if not answer["ok"]:
            raise WorkerError(f"{self.engine}: '{cmd}' failed: {answer.get('error')}")
        return answer

    def libraries(self):
        """The BLAS / oneDNN / ONNX Runtime / OpenMP libraries mapped into the worker, from /proc/PID/maps.
        A worker started through fair-env.sh is a child of `env`, which execs: same PID."""
        return runtime_info.mapped_libraries(self.pid)

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=20)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def _tail(self):
        self.log.flush()
        try:
            with open(self.log_path) as f:
                tail = f.read()[-2000:]
        except OSError:
            tail = ""
        return f"; log {self.log_path}:\n{tail}" if tail.strip() else f" (log {self.log_path} is empty)"


def start_workers(engines, threads, paths, log_dir):
    """Starts one worker per engine name. paths: scratchnet_worker, node_modules.
    scratchnet runs as its users run it; the peers run through fair-env.sh (OpenBLAS, malloc settings)."""
    os.makedirs(log_dir, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    commands = {
        "scratchnet": [paths["scratchnet_worker"], "--threads", str(threads), "--variant", "fused"],
        "onnxruntime": [FAIR_ENV, "node", os.path.join(HERE, "worker_ort.js"), "--threads", str(threads),
                        "--modules", paths["node_modules"]],
        "torch-frozen": [FAIR_ENV, "/usr/bin/python3", os.path.join(HERE, "worker_torch.py"), "--threads",
                         str(threads), "--variant", "frozen"],
        "torch-eager": [FAIR_ENV, "/usr/bin/python3", os.path.join(HERE, "worker_torch.py"), "--threads",
                        str(threads), "--variant", "eager"],
        "scratchnet-bf16": [paths["scratchnet_worker"], "--threads", str(threads), "--variant", "fused-bf16"],
        "torch-bf16": [FAIR_ENV, "/usr/bin/python3", os.path.join(HERE, "worker_torch.py"), "--threads",
                       str(threads), "--variant", "bf16"],
    }
    workers = {}
    try:
        for e in engines:
            if e not in commands:
                raise WorkerError(f"unknown engine {e} (known: {', '.join(commands)})")
            workers[e] = Worker(e, commands[e], log_dir, env)
    except Exception:
        for w in workers.values():
            w.close()
        raise
    return workers
