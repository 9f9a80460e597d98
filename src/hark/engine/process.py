"""The speech engine in a supervised child process (docs/engine-process.md).

A native fault in the engine (an illegal instruction, a segmentation fault), an
out-of-memory kill or a hang past the stage deadline ends the child, not the process serving
the API: the requests it was running raise `EngineCrashed` (naming the stage and the signal)
and a fresh child, loaded at once, takes the next ones.

`EngineProcess` offers Pipeline's interface (`transcribe_file`, `transcribe`). The child is
started with the *spawn* method (never forked from a threaded server), loads the pipeline
once and runs each request in a thread of its own, so one loaded model serves every worker
thread and realtime session as it did in-process.

Messages are tuples over a duplex Pipe; request ids multiplex it:
  parent -> child  ("request", rid, method, args, kwargs, callback_names), ("cancel", rid)
  child -> parent  ("ready", info) or ("failed", error_type, message), once, at start;
                   ("call", rid, name, args): the request called its `name` callback;
                   ("result", rid, value), ("error", rid, class_name, error_type, message),
                   ("exception", rid, traceback_text), ("cancelled", rid): how it ended.
Every keyword argument named `on_*` that is callable is proxied as "call" messages, whatever
its name, and run in the caller's thread. A callback that raises cancels the request (the
child stops at its next callback) and the caller gets that very exception.
"""

from __future__ import annotations

import atexit
import contextlib
import faulthandler
import inspect
import itertools
import logging
import multiprocessing
import os
import queue
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from .asr import EngineConfig
from .diarization import diarization_features
from .pipeline import Pipeline, get_pipeline
from .streaming import FIN, StreamingConfig, StreamUpdate
from .transcript import EngineError, ProgressCallback, TranscribeOptions, Transcript

log = logging.getLogger(__name__)

# What users read in a crash message: the stage a request was in.
STAGES = {
    "start": "start-up",
    "decode": "audio decoding",
    "asr": "speech recognition",
    "diarize": "speaker diarization",
    "translate": "translation",
}


class EngineCrashed(EngineError):
    """The engine process died (or was killed, hung) while running the request."""

    def __init__(self, message: str, stage: str, exitcode: int | None = None) -> None:
        super().__init__("engine_crashed", message)
        self.stage = stage
        self.exitcode = exitcode


class EngineStopped(Exception):
    """The engine process was stopped on purpose (the server is shutting down): the request
    was interrupted, not failed."""


class EngineFailure(RuntimeError):
    """An unexpected exception in the engine process (a bug); carries its traceback."""


@dataclass(frozen=True)
class Supervision:
    # A request showing no sign of life (a stage starting, progress) for this long is hung:
    # its engine process is killed.
    stage_timeout: float = 600.0
    # Test-only fault injection (hark.engine.faults) when set: where `:once` faults record
    # that they fired.
    faults_dir: Path | None = None
    # Added to the child's nice value (0-19): where the engine and the API share CPUs, the
    # API's requests are answered first and the engine takes the rest; alone, it loses
    # nothing.
    nice: int = 0


@dataclass
class _Request:
    rid: int
    events: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)
    stage: str = "start"
    active: float = field(default_factory=time.monotonic)  # its last sign of life


class _Child:
    """One engine process and what the parent knows of it."""

    def __init__(self, process: multiprocessing.process.BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.pid = process.pid
        self.ready = threading.Event()  # set once it loaded, failed to, or died
        self.info: dict[str, object] = {}
        self.failure: EngineError | None = None  # why it never became ready
        self.pending: dict[int, _Request] = {}
        self.dead = False
        self.hung: _Request | None = None  # the request the watchdog killed it for
        self._send_lock = threading.Lock()

    def send(self, message: tuple) -> None:
        with self._send_lock:
            self.conn.send(message)

    def send_quietly(self, message: tuple) -> None:
        """Send unless it is gone (its death is then reported to every request anyway)."""
        with contextlib.suppress(OSError, ValueError):
            self.send(message)


class EngineProcess:
    """The pipeline of `config`, run by a supervised child process (see the module doc)."""

    def __init__(self, config: EngineConfig, supervision: Supervision = Supervision()) -> None:
        self.config = config
        self.supervision = supervision
        self.restarts = 0
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._ids = itertools.count(1)
        self._stopping = False
        self._stopped = threading.Event()
        self._watchdog: threading.Thread | None = None

    # -- Pipeline's interface -------------------------------------------------------------

    def transcribe_file(
        self,
        path: str | Path,
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: ProgressCallback | None = None,
        on_duration: ProgressCallback | None = None,
        max_seconds: float | None = None,
        **more: Any,
    ) -> Transcript:
        return self.call(
            "transcribe_file",
            str(path),
            options,
            on_progress=on_progress,
            on_duration=on_duration,
            max_seconds=max_seconds,
            **more,
        )

    def transcribe(
        self,
        channels: list[np.ndarray],
        options: TranscribeOptions = TranscribeOptions(),
        on_progress: ProgressCallback | None = None,
        **more: Any,
    ) -> Transcript:
        return self.call("transcribe", channels, options, on_progress=on_progress, **more)

    def open_stream(self, options: TranscribeOptions, config: StreamingConfig) -> EngineStream:
        """A live stream whose recogniser runs in the engine process."""
        stream = EngineStream(self, uuid.uuid4().hex)
        self.call("stream_open", stream.id, options, config)
        return stream

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Run `Pipeline.<method>(*args, **kwargs)` in the engine process."""
        callbacks = {n: f for n, f in kwargs.items() if n.startswith("on_") and callable(f)}
        plain = {n: v for n, v in kwargs.items() if n not in callbacks}
        child, request = self._submit(method, args, plain, sorted(callbacks))
        failure: Exception | None = None
        try:
            while True:
                kind, *body = request.events.get()
                if kind == "call":
                    name, values = body
                    callback = callbacks.get(name)
                    if callback is not None and failure is None:
                        try:
                            callback(*values)
                        except Exception as exc:  # e.g. the job was cancelled: stop it
                            failure = exc
                            child.send_quietly(("cancel", request.rid))
                    continue
                if failure is not None:
                    raise failure
                if kind == "result":
                    return body[0]
                if kind == "cancelled":
                    raise EngineFailure("the engine cancelled a request nobody cancelled")
                raise body[0]
        finally:
            with self._lock:
                child.pending.pop(request.rid, None)

    # -- life cycle -----------------------------------------------------------------------

    def started(self) -> EngineProcess:
        """This engine, its process started (not necessarily loaded yet) if it was not."""
        self._current()
        return self

    def wait_ready(self) -> dict[str, object]:
        """Start the engine process if needed and wait until it has loaded the model; what
        it reports about itself. Raises why it could not load."""
        child = self._current()
        child.ready.wait()
        if child.failure is not None:
            raise child.failure
        return child.info

    def status(self) -> dict[str, object] | None:
        """For /readyz: None if never started; else "ok" (with what the engine reports:
        pid, model, device...), "starting", "restarting" or "error: ..."."""
        with self._lock:
            child = self._child
        if child is None:
            return None
        if self._stopping:
            return {"status": "stopped"}
        if child.failure is not None:
            return {"status": f"error: {child.failure.message}", "pid": child.pid}
        if child.dead:
            return {"status": "restarting", "restarts": self.restarts}
        if not child.ready.is_set():
            return {"status": "starting", "pid": child.pid}
        return {"status": "ok", **child.info, "restarts": self.restarts}

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the engine process; requests in flight raise EngineStopped."""
        with self._lock:
            self._stopping = True
            child = self._child
        self._stopped.set()
        if child is None:
            return
        # Asked to, it exits cleanly (its semaphores released); requests in it are dropped.
        child.send_quietly(("stop",))
        child.process.join(timeout)
        if child.process.is_alive():
            child.process.terminate()
            child.process.join(timeout)
        if child.process.is_alive():
            child.process.kill()
            child.process.join()

    def _current(self) -> _Child:
        with self._lock:
            if self._stopping:
                raise EngineStopped("the speech engine was stopped")
            if self._child is None or self._child.dead:
                self._spawn()  # first use, or the last one never loaded: try again
            assert self._child is not None
            return self._child

    def _submit(
        self, method: str, args: tuple, kwargs: dict, callbacks: list[str]
    ) -> tuple[_Child, _Request]:
        """Hand a request to the current engine process, once it is ready."""
        while True:
            child = self._current()
            child.ready.wait()
            if child.failure is not None:
                raise child.failure
            with self._lock:
                if child.dead:
                    continue  # it died after loading: its successor takes the request
                request = _Request(next(self._ids))
                child.pending[request.rid] = request
            try:
                child.send(("request", request.rid, method, args, kwargs, callbacks))
            except (OSError, ValueError):
                pass  # it just died: the reader reports that to this request
            except BaseException:  # arguments that cannot be sent
                with self._lock:
                    child.pending.pop(request.rid, None)
                raise
            return child, request

    def _spawn(self) -> None:
        """Start a child (the caller holds the lock)."""
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(
            target=_serve,
            args=(theirs, self.config, self.supervision.faults_dir, self.supervision.nice),
            name="hark-engine",
        )
        process.start()
        theirs.close()
        child = _Child(process, ours)
        self._child = child
        log.info(
            "speech engine process %d starting (model %s, device %s)",
            child.pid,
            self.config.model,
            self.config.device,
        )
        threading.Thread(
            target=self._read, args=(child,), name=f"hark-engine-{child.pid}", daemon=True
        ).start()
        if self._watchdog is None:
            atexit.register(self.stop)  # before multiprocessing's own hook joins children
            self._watchdog = threading.Thread(
                target=self._watch, name="hark-engine-watchdog", daemon=True
            )
            self._watchdog.start()

    # -- supervision ----------------------------------------------------------------------

    def _read(self, child: _Child) -> None:
        """Route the child's messages to the requests they belong to, until it is gone."""
        while True:
            try:
                message = child.conn.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a message that cannot be unpickled here: a bug
                log.exception("unreadable message from speech engine process %d", child.pid)
                continue
            kind = message[0]
            if kind == "ready":
                child.info = message[1]
                child.ready.set()
                details = ", ".join(f"{k} {v}" for k, v in child.info.items() if k != "pid")
                log.info("speech engine ready: process %d, %s", child.pid, details)
                continue
            if kind == "failed":
                child.failure = EngineError(message[1], message[2])
                child.ready.set()
                log.error("speech engine process %d could not load: %s", child.pid, message[2])
                continue
            with self._lock:
                request = child.pending.get(message[1])
            if request is None:
                continue  # its caller has gone
            request.active = time.monotonic()
            if kind == "call":
                if message[2] == "on_stage":
                    request.stage = message[3][0]
                request.events.put(("call", message[2], message[3]))
            elif kind == "result":
                request.events.put(("result", message[2]))
            elif kind == "error":
                request.events.put(("raise", _engine_error(*message[2:])))
            elif kind == "exception":
                request.events.put(("raise", EngineFailure(message[2])))
            else:
                request.events.put(("cancelled",))
        self._died(child)

    def _died(self, child: _Child) -> None:
        child.process.join()  # reaped: no zombie
        exitcode = child.process.exitcode
        child.conn.close()
        loaded = child.ready.is_set() and child.failure is None
        if not child.ready.is_set():
            child.failure = EngineCrashed(
                f"The speech engine could not start ({describe_exit(exitcode)}).",
                "start",
                exitcode,
            )
            child.ready.set()
        with self._lock:
            child.dead = True
            victims = list(child.pending.values())
            child.pending.clear()
            stopping = self._stopping
            if loaded and not stopping:
                self.restarts += 1
                try:
                    self._spawn()  # warm for the next request
                except Exception:  # the next request tries again
                    log.exception("could not start a new speech engine process")
        if stopping:
            for request in victims:
                request.events.put(("raise", EngineStopped("the speech engine was stopped")))
            return
        log.error(
            "speech engine process %d ended (%s)%s",
            child.pid,
            describe_exit(exitcode),
            f"; {len(victims)} request(s) failed with it" if victims else "",
        )
        for request in victims:
            request.events.put(("raise", self._crash(child, request, exitcode)))

    def _crash(self, child: _Child, request: _Request, exitcode: int | None) -> EngineCrashed:
        where = STAGES.get(request.stage, request.stage)
        if child.hung is request:
            message = (
                f"The speech engine hung during {where}: no progress for "
                f"{self.supervision.stage_timeout:g} s (the deadline per stage), so it was "
                "stopped."
            )
        elif child.hung is not None:
            message = f"The speech engine was restarted during {where}: another job in it hung."
        else:
            message = f"The speech engine crashed ({describe_exit(exitcode)}) during {where}."
        return EngineCrashed(message, request.stage, exitcode)

    def _watch(self) -> None:
        """Kill the engine process when one of its requests shows no sign of life for
        longer than the stage deadline."""
        timeout = self.supervision.stage_timeout
        while not self._stopped.wait(min(1.0, timeout / 4)):
            with self._lock:
                child = self._child
                requests = list(child.pending.values()) if child else []
            now = time.monotonic()
            for request in requests:
                if child is not None and child.hung is None and now - request.active > timeout:
                    child.hung = request
                    log.error(
                        "speech engine process %d: a request made no progress for %g s "
                        "during %s; killing the process",
                        child.pid,
                        timeout,
                        STAGES.get(request.stage, request.stage),
                    )
                    child.process.kill()


class EngineStream:
    """A live stream in the engine process: `StreamingRecognizer`'s interface, one round
    trip over the pipe per call. If the engine process crashes, the next call raises
    `EngineCrashed` (or `engine_crashed`: the fresh process does not know the stream)."""

    def __init__(self, engine: EngineProcess, stream_id: str) -> None:
        self.engine = engine
        self.id = stream_id

    def feed(self, samples: np.ndarray, decode: bool = True) -> StreamUpdate | None:
        return self.engine.call("stream_feed", self.id, samples, decode)

    def finalize(self, marker: str | None = FIN) -> StreamUpdate:
        return self.engine.call("stream_finalize", self.id, marker)

    def close(self) -> None:
        with contextlib.suppress(EngineError, EngineStopped, EngineFailure):
            self.engine.call("stream_close", self.id)


def describe_exit(exitcode: int | None) -> str:
    """How a process ended, for people: "SIGILL, illegal instruction"."""
    if exitcode is None:
        return "lost"
    if exitcode >= 0:
        return f"exit status {exitcode}"
    number = -exitcode
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    description = (signal.strsignal(number) or "").lower()
    if number == signal.SIGKILL:
        description = "killed: out of memory, or by an operator"
    return f"{name}, {description}" if description else name


def _engine_error(class_name: str, error_type: str, message: str) -> EngineError:
    """The EngineError (subclass) the child raised, rebuilt on this side."""
    classes, known = [EngineError], {}
    while classes:
        cls = classes.pop()
        known[cls.__name__] = cls
        classes += cls.__subclasses__()
    try:
        return known.get(class_name, EngineError)(error_type, message)
    except TypeError:  # a subclass with a constructor of its own
        return EngineError(error_type, message)


# -- the child ----------------------------------------------------------------------------


class _Cancelled(BaseException):
    """Raised at a cancelled request's next callback; a BaseException so that no
    `except Exception` in the pipeline swallows it."""


def engine_info(config: EngineConfig, load_seconds: float) -> dict[str, object]:
    """What a loaded engine process reports about itself: /readyz shows it, and the server
    logs it as the engine's start-up line. Components that pick a code path at start-up
    (e.g. diarization's feature extractor for this CPU) add an entry here."""
    return {
        "pid": os.getpid(),
        "model": config.model,
        "device": config.device,
        "compute_type": config.compute_type,
        "load_seconds": round(load_seconds, 1),
        "diarization": "{} ({})".format(*diarization_features(config)),
    }


def _lower_priority(nice: int) -> None:
    """Add `nice` to the nice value of every thread of this process. On Linux a nice value
    is per thread: threads started later (the model's, the requests') take their creator's,
    but some started on import already (OpenBLAS's pool, when numpy loaded)."""
    try:
        threads = [int(tid) for tid in os.listdir("/proc/self/task")]
    except OSError:  # not Linux: the value is the process's
        os.nice(nice)
        return
    for tid in threads:
        with contextlib.suppress(OSError):  # a thread that just ended
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)


def _serve(conn: Connection, config: EngineConfig, faults_dir: Path | None, nice: int = 0) -> None:
    """The engine process: load the pipeline, then run requests until the parent goes."""
    if nice:
        _lower_priority(nice)
    # Ctrl-C in a terminal reaches the whole process group: the parent decides when we stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A native fault leaves the Python stack of every thread in the log; SIGUSR1 prints
    # them on demand (a hang).
    faulthandler.enable(all_threads=True)
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s [engine %(process)d]: %(message)s",
    )
    lock = threading.Lock()

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    started = time.monotonic()
    try:
        pipeline = get_pipeline(config)
    except EngineError as exc:
        send(("failed", exc.error_type, exc.message))
        return
    except Exception as exc:
        log.exception("the speech engine could not load")
        send(("failed", "model_unavailable", f"The speech engine could not load: {exc}"))
        return
    send(("ready", engine_info(config, time.monotonic() - started)))
    faults = None
    if faults_dir is not None:
        from .faults import FaultInjector

        faults = FaultInjector(faults_dir)
    cancels: dict[int, threading.Event] = {}
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            message = ("stop",)  # the parent is gone
        if message[0] == "stop":
            if cancels:  # requests still running, maybe in native code: no orderly exit
                os._exit(0)
            return
        if message[0] == "cancel":
            if (event := cancels.get(message[1])) is not None:
                event.set()
            continue
        _, rid, method, args, kwargs, callbacks = message
        cancels[rid] = threading.Event()
        threading.Thread(
            target=_run,
            args=(pipeline, send, rid, method, args, kwargs, callbacks, cancels, faults),
            name=f"hark-request-{rid}",
            daemon=True,
        ).start()


def _run(
    pipeline: Pipeline,
    send: Callable[[tuple], None],
    rid: int,
    method: str,
    args: tuple,
    kwargs: dict,
    callbacks: list[str],
    cancels: dict[int, threading.Event],
    faults: Any,
) -> None:
    """One request, in a thread of its own."""
    cancel = cancels[rid]

    def forward(name: str) -> Callable[..., None]:
        def callback(*values: Any) -> None:
            if cancel.is_set():
                raise _Cancelled
            send(("call", rid, name, values))

        return callback

    # Stages and progress always travel: they are the request's signs of life.
    hooks = {name: forward(name) for name in {*callbacks, "on_progress", "on_stage"}}
    if faults is not None:
        bound = _bound(method, args, kwargs)
        if "options" in bound:
            prompt = bound["options"].prompt
        else:  # a live stream's call: the prompt it was opened with
            prompt = pipeline.stream_prompt(bound.get("stream_id", ""))
        report_stage = hooks["on_stage"]

        def on_stage(name: str) -> None:
            report_stage(name)
            faults.at(name, prompt)

        hooks["on_stage"] = on_stage
    try:
        result = getattr(pipeline, method)(*args, **{**kwargs, **hooks})
        reply: tuple = ("result", rid, result)
    except _Cancelled:
        reply = ("cancelled", rid)
    except EngineError as exc:
        reply = ("error", rid, type(exc).__name__, exc.error_type, exc.message)
    except Exception:
        reply = ("exception", rid, traceback.format_exc())
    finally:
        cancels.pop(rid, None)
    try:
        send(reply)
    except (OSError, ValueError):
        pass  # the parent is gone
    except Exception:  # a result that cannot be sent
        send(("exception", rid, traceback.format_exc()))


def _bound(method: str, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The arguments of a Pipeline method call, by name."""
    signature = inspect.signature(getattr(Pipeline, method))
    return signature.bind(None, *args, **kwargs).arguments
