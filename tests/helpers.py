"""Shared helpers of the integration tests."""
import argparse
import os
import os.path as osp
import subprocess
import sys
from contextlib import contextmanager

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Tiny schedules for integration tests: a few iterations on a slice of the
# real digits set.
TINY = [
    'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128',
    'val_dataloader.dataset.indices=64', 'test_dataloader.dataset.indices=64',
    'default_hooks.logger.interval=1'
]


def run_tool(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    """Run a script of tools/ as a user would, from the repository root."""
    full_env = dict(os.environ, **(env or {}))
    full_env.pop('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', None)
    return subprocess.run([sys.executable, *args],
                          cwd=REPO,
                          env=full_env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)


def call_tool(*args) -> subprocess.CompletedProcess:
    """Run a script of tools/ in this process as ``python SCRIPT ARGS``
    from the repository root would (its ``main`` through ``run_cli``), with
    its stdout, stderr and exit code; the environment, torch's threads and
    MMEngine's default scope and loggers are restored after it. For the
    tests where a separate process adds nothing."""
    import io
    import runpy
    from contextlib import redirect_stderr, redirect_stdout

    from mmengine.logging import MMLogger
    from mmengine.registry import DefaultScope
    import torch
    script, *rest = args
    out, err = io.StringIO(), io.StringIO()
    argv, cwd, code = sys.argv, os.getcwd(), 0
    environ, threads = dict(os.environ), torch.get_num_threads()
    scope = DefaultScope.get_current_instance()
    loggers = dict(MMLogger._instance_dict)
    # The whole registry of scopes comes back as it was after the block.
    kept = DefaultScope.overwrite_default_scope(
        scope.scope_name if scope else 'mmengine')
    try:
        os.chdir(REPO)
        sys.argv = [script, *rest]
        with kept, redirect_stdout(out), redirect_stderr(err):
            # What the tool logs before its runner starts goes to this
            # console logger, not into the log file of an earlier run.
            MMLogger.get_instance(f'call_tool_{id(out)}', log_level='INFO')
            runpy.run_path(script, run_name='__main__')
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        sys.argv = argv
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        torch.set_num_threads(threads)
        MMLogger._instance_dict.clear()
        MMLogger._instance_dict.update(loggers)
    return subprocess.CompletedProcess(args, code, out.getvalue(),
                                       err.getvalue())


def parse_cfg_options(options) -> dict:
    """``--cfg-options`` key=value strings as the tools parse them."""
    from mmengine.config import DictAction
    parsed = argparse.Namespace()
    DictAction(option_strings=[], dest='cfg')(None, parsed, list(options))
    return parsed.cfg


def train_in_process(config: str, work_dir: str, options=()) -> str:
    """Train a config through the MMEngine runner in this process; returns
    the work dir."""
    import feed_mm  # noqa: F401
    from mmengine.runner import Runner

    from feed_mm.apis import load_config
    cfg = load_config(osp.join(REPO, config), work_dir,
                      parse_cfg_options(list(TINY) + list(options)), 'none')
    with default_scope_kept():
        Runner.from_cfg(cfg).train()
    return work_dir


@contextmanager
def default_scope_kept():
    """MMEngine's default scope as it was before the block: a FEED runner
    makes 'mmrazor' the current scope, in which later builds of MMPretrain
    types in the same process would not be found."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmrazor'):
        yield


def snapshot_files(directory: str) -> dict:
    """Every file and folder under ``directory`` with each file's content
    hash, size and modification time: equal snapshots mean nothing there
    was written, added or removed."""
    import hashlib
    state = {}
    for root, dirs, files in os.walk(directory):
        for name in dirs:
            state[osp.join(root, name)] = 'dir'
        for name in files:
            path = osp.join(root, name)
            with open(path, 'rb') as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            stat = os.stat(path)
            state[path] = (digest, stat.st_size, stat.st_mtime_ns)
    return state


def build_razor_model(cfg: dict):
    """Build a model dict from MMRazor's registry in MMRazor's scope,
    whatever scope a runner earlier in the process left as default."""
    import feed_mm  # noqa: F401
    from mmengine.registry import DefaultScope
    from mmrazor.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)
