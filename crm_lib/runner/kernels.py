"""Pre-warmed kernels: a notebook's kernel started, and its imports done, before it is due.

A batch worker (:func:`crm_lib.runner.cli.serve`) told ``+warm PATH`` while it
is idle starts a kernel exactly as papermill would for that notebook (the ``crm``
kernel spec and its environment, the notebooks folder as working directory,
nbclient's ``--HistoryManager.hist_file=:memory:``) and runs the notebook's
set-up imports in it (:func:`setup_imports`: the import statements that open its
first code cell after the parameters, which a cold run executes before any
computation, with pandas, numpy, scipy, scikit-learn, statsmodels and matplotlib
behind them), silently, without storing history (execution counts start at 1 as
in a cold kernel) and without binding a name in the notebook's namespace. The
next notebook the worker is given runs in that kernel when its own set-up
imports include every module warmed up (so it starts from the state a cold
kernel reaches before its first computation); its set-up cell then finds the
modules imported. The kernel is shut down after that notebook, as papermill
shuts down its own; each kernel serves one notebook. A warm-up that fails, a
kernel that died or a notebook the kernel does not fit gets a cold kernel as
before, and the warm one is shut down; so is one no notebook takes, when the
worker ends.
"""

from __future__ import annotations

import ast
import time
from pathlib import Path

#: The line that asks a serving worker to pre-warm a kernel for a notebook: ``+warm PATH``.
WARM = "+warm"
#: The line that gives an early-started worker its run: ``+run RUN_ID N`` (N: worker number).
RUN = "+run"

#: Cells papermill adds or fills before the notebook's own code.
_PARAMETER_TAGS = {"parameters", "injected-parameters"}


def setup_imports(nb_path: Path) -> tuple[str, ...]:
    """Modules the notebook imports before its first computation, in order.

    The leading ``import``/``from ... import`` statements of its first code cell
    that is not a parameters cell (``from a import b`` gives ``a`` and ``a.b``,
    the latter only if it turns out to be a module). Empty when there are none.
    """
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or _PARAMETER_TAGS & set(cell.metadata.get("tags", [])):
            continue
        try:
            body = ast.parse(cell.source).body
        except SyntaxError:
            return ()
        mods: list[str] = []
        for node in body:
            if isinstance(node, ast.Import):
                mods += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.append(node.module)
                mods += [f"{node.module}.{a.name}" for a in node.names if a.name != "*"]
            else:
                break
        return tuple(dict.fromkeys(mods))
    return ()


def warmup_code(modules: tuple[str, ...]) -> str:
    """Code importing ``modules`` inside a function (no name is left behind), one plain
    ``import`` statement each; a module that fails to import, or a name that is not a
    module, is left to the notebook. The names come from :func:`setup_imports` (dotted
    identifiers parsed from the notebook); anything else is refused."""
    bad = [m for m in modules if not all(part.isidentifier() for part in m.split("."))]
    if bad:
        raise ValueError(f"not a module name: {bad[0]!r}")
    body = "".join(f"    try:\n        import {m}\n    except Exception:\n        pass\n"
                   for m in modules)
    return "def _crm_warmup():\n" + (body or "    pass\n") + "_crm_warmup()\ndel _crm_warmup\n"


#: nbclient adds this argument to every IPython kernel it starts (``ipython_hist_file``).
HISTORY_ARGS = ["--HistoryManager.hist_file=:memory:"]


class WarmKernel:
    """A started kernel running (or done with) the warm-up, for one notebook."""

    def __init__(self, kernel_name: str, cwd: Path, modules: tuple[str, ...], *,
                 stem: str = "") -> None:
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_core.utils import run_sync

        self.stem = stem  # the notebook it is warmed for
        self.cwd = Path(cwd)
        self.kernel_name = kernel_name
        self.modules = tuple(modules)
        self.km = AsyncKernelManager(kernel_name=kernel_name)
        run_sync(self.km.start_kernel)(extra_arguments=list(HISTORY_ARGS), cwd=str(self.cwd))
        self.kc = self.km.client()
        self.kc.start_channels(iopub=False, stdin=False, hb=False, control=False)  # shell only
        self.msg_id = self.kc.execute(warmup_code(self.modules), silent=True,
                                      store_history=False, allow_stdin=False)

    def fits(self, kernel_name: str, cwd: Path, modules: tuple[str, ...]) -> bool:
        """Papermill would start this kernel for the notebook, and the notebook imports
        every warmed-up module before its first computation."""
        return (kernel_name == self.kernel_name and Path(cwd).resolve() == self.cwd.resolve()
                and set(self.modules) <= set(modules))

    def take(self, kernel_name: str, cwd: Path, modules: tuple[str, ...], timeout: float = 120):
        """The kernel manager for a notebook (its kernel name, working directory and set-up
        imports), once the warm-up is done; None (kernel shut down) when it does not fit
        (:meth:`fits`) or did not warm up."""
        from jupyter_core.utils import run_sync

        if not self.fits(kernel_name, cwd, modules):
            self.shutdown()
            return None
        try:
            ok = run_sync(self._wait)(timeout) and run_sync(self.km.is_alive)()
            if ok:
                self.kc.stop_channels()  # the notebook's client opens its own channels
        except Exception:  # noqa: BLE001 - the notebook starts a cold kernel instead
            ok = False
        if not ok:
            self.shutdown()
            return None
        km, self.km = self.km, None
        return km

    async def _wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                msg = await self.kc.get_shell_msg(timeout=min(left, 1.0))
            except Exception:  # noqa: BLE001 - queue.Empty: check the kernel still lives
                if not await self.km.is_alive():
                    return False
                continue
            if msg.get("parent_header", {}).get("msg_id") == self.msg_id:
                return msg.get("content", {}).get("status") == "ok"

    def shutdown(self) -> None:
        """Stop the kernel (if not handed over) and close its channels; never raises."""
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001, S110
            pass
        if km is not None:
            _stop_kernel(km, lambda: run_sync(km.shutdown_kernel)(now=False))


def _stop_kernel(km, graceful) -> None:
    """Stop ``km``'s kernel with ``graceful()``; if that fails (the kernel is dead or
    stuck), kill it; then free its resources. Never raises."""
    from jupyter_core.utils import run_sync

    try:
        graceful()
    except Exception:  # noqa: BLE001 - dead already: free what is left
        try:
            run_sync(km.shutdown_kernel)(now=True)
        except Exception:  # noqa: BLE001, S110
            pass
    try:
        run_sync(km.cleanup_resources)()
    except Exception:  # noqa: BLE001, S110
        pass


class Spent:
    """The kernel of a notebook that has finished, still to be shut down (deferred so the
    notebook's result is written, and the next notebook started, first)."""

    def __init__(self, km, kc) -> None:
        self.km, self.kc = km, kc
        self.requested = False
        self.requested_at = 0.0  # time.monotonic() of the request

    def request(self) -> None:
        """Ask the kernel to stop (as nbclient's shutdown does first: interrupt, then a
        shutdown request) without waiting for it to exit; :meth:`shutdown` finishes."""
        from jupyter_core.utils import run_sync

        km = self.km
        try:
            if km is not None and run_sync(km.is_alive)():
                km.shutting_down = True
                km.stop_restarter()
                run_sync(km.interrupt_kernel)()
                run_sync(km.request_shutdown)()
                self.requested, self.requested_at = True, time.monotonic()
        except Exception:  # noqa: BLE001, S110 - shutdown() kills what is left
            pass

    def pid(self) -> int | None:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        return getattr(proc, "pid", None)

    def exited(self) -> bool:
        """The kernel process has ended (after :meth:`request`)."""
        from jupyter_core.utils import run_sync

        try:
            return self.km is None or not run_sync(self.km.is_alive)()
        except Exception:  # noqa: BLE001 - cannot tell: let shutdown() deal with it
            return True

    def shutdown(self) -> None:
        """Stop the kernel as nbclient does after a notebook (graceful); never raises."""
        from jupyter_core.utils import run_sync

        km, self.km = self.km, None
        if km is None:
            return

        def graceful() -> None:
            if self.requested:  # wait for it to exit (killed after shutdown_wait_time)
                run_sync(km.finish_shutdown)()
            elif run_sync(km.is_alive)():
                run_sync(km.shutdown_kernel)(now=False)

        _stop_kernel(km, graceful)
        try:
            if self.kc is not None:
                self.kc.stop_channels()
        except Exception:  # noqa: BLE001, S110
            pass


def kernel_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds (user + system) a live process has used, from /proc (None elsewhere)."""
    if pid is None:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        import os
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _engine():
    """papermill's nbclient engine with three changes, for the batch runner:

    * ``km=``: the notebook runs in a kernel it is given (a :class:`WarmKernel`'s);
    * ``spent=[]``: the kernel is not shut down before the engine returns but left, as
      a :class:`Spent`, in that list, for the caller to shut down once the result is
      written (on every outcome: also a dead kernel or a timeout);
    * the notebook is saved when each cell completes, not also when it starts (the
      final notebook is the same; 1-6 ms a save, two a cell).
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, NotebookExecutionManager
    from papermill.log import logger
    from papermill.utils import merge_kwargs, remove_args

    class OneSaveACell(NotebookExecutionManager):
        def cell_start(self, cell, cell_index=None, **kwargs):
            self.save = lambda **_: None  # the instance's, for this call only
            try:
                super().cell_start(cell, cell_index, **kwargs)
            finally:
                del self.save

    class GivenKernelClient(PapermillNotebookClient):
        def __init__(self, nb_man, km=None, spent=None, **kw):
            super().__init__(nb_man, km=km, **kw)
            self.spent = spent
            # shut down here (papermill's way) unless the caller takes the kernel
            self.owns_km = spent is None

        def execute(self, **kwargs):
            try:
                return super().execute(**kwargs)
            finally:
                if self.spent is not None and self.km is not None:
                    self.spent.append(Spent(self.km, self.kc))

    class GivenKernelEngine(NBClientEngine):
        @classmethod
        def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True,
                             log_output=False, autosave_cell_every=30, **kwargs):
            # Engine.execute_notebook (papermill 2.x), with the execution manager above
            nb_man = OneSaveACell(nb, output_path=output_path, progress_bar=progress_bar,
                                  log_output=log_output,
                                  autosave_cell_every=autosave_cell_every)
            nb_man.notebook_start()
            try:
                cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output,
                                             **kwargs)
            finally:
                nb_man.cleanup_pbar()
                nb_man.notebook_complete()
            return nb_man.nb

        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False,
                                     stdout_file=None, stderr_file=None, start_timeout=60,
                                     execution_timeout=None, **kwargs):
            # NBClientEngine.execute_managed_notebook (papermill 2.x), with the client above
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final_kwargs = merge_kwargs(
                safe_kwargs, timeout=execution_timeout if execution_timeout
                else kwargs.get("timeout"), startup_timeout=start_timeout,
                kernel_name=kernel_name, log=logger, log_output=log_output,
                stdout_file=stdout_file, stderr_file=stderr_file)
            return GivenKernelClient(nb_man, **final_kwargs).execute()

    return GivenKernelEngine


ENGINE_NAME = "crm-batch"
_registered = False


def engine_name() -> str:
    """Register (once) and name the papermill engine of :func:`_engine`."""
    global _registered
    if not _registered:
        from papermill.engines import papermill_engines
        papermill_engines.register(ENGINE_NAME, _engine())
        _registered = True
    return ENGINE_NAME
