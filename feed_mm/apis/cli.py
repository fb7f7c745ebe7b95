"""What tools/train.py and tools/test.py share: config loading with the
MMPretrain/MMRazor command-line conventions, and clear errors."""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, Optional

from mmengine.config import Config, DictAction

from feed_mm.utils import FEEDConfigError

DEBUG_ENV = 'FEED_MM_DEBUG'

# Messages of the registry and of Python's own argument checks when a config
# names an unknown type or passes an unknown key to a module.
_BUILD_ERROR_MARKERS = (' is not in the ', 'unexpected keyword argument',
                        'required positional argument',
                        'required keyword-only argument')


def add_common_args(parser: argparse.ArgumentParser,
                    launcher: bool = True) -> None:
    """The flags every feed_mm tool shares with MMPretrain's tools:
    ``--cfg-options`` and, for tools that can run distributed,
    ``--launcher`` and ``--local-rank``."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings in the config, key=value pairs '
        '(e.g. train_cfg.max_epochs=3)')
    if launcher:
        parser.add_argument(
            '--launcher',
            choices=['none', 'pytorch', 'slurm', 'mpi'],
            default='none',
            help='job launcher')
        parser.add_argument('--local_rank', '--local-rank', type=int,
                            default=0)


def parse_with_launcher(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse, and export LOCAL_RANK as torch.distributed launchers do."""
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def load_config(config: str, work_dir: Optional[str],
                cfg_options: Optional[dict], launcher: str) -> Config:
    """Read a config file and apply the usual overrides.

    Args:
        config (str): Path of the config file.
        work_dir (str, optional): ``--work-dir``; defaults to
            ``./work_dirs/<config name>`` when the config sets none.
        cfg_options (dict, optional): ``--cfg-options`` key=value overrides.
        launcher (str): ``--launcher``.

    Returns:
        Config: The merged config.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file not found: {config}')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if launcher != 'none' and not _cuda_available():
        # NCCL needs GPUs; gloo runs the same job on CPU processes.
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg.backend = 'gloo'
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def _cuda_available() -> bool:
    import torch
    return torch.cuda.is_available()


def is_config_error(err: BaseException) -> bool:
    """Whether ``err`` says the config is wrong (as opposed to a bug)."""
    from feed_mm.utils.checkpoint import (CorruptCheckpointError,
                                          UnsafeCheckpointError)
    if isinstance(err, (FEEDConfigError, UnsafeCheckpointError,
                        CorruptCheckpointError, FileNotFoundError)):
        return True
    return isinstance(err, (KeyError, TypeError)) and any(
        marker in str(err) for marker in _BUILD_ERROR_MARKERS)


def run_cli(main: Callable[[], None]) -> None:
    """Run a tool's main(); a config error ends it with one clear line on
    stderr and exit code 2 instead of a traceback from deep in the stack
    (``FEED_MM_DEBUG=1`` shows the traceback)."""
    try:
        main()
    except Exception as err:  # noqa: B902 - filtered by is_config_error
        if os.environ.get(DEBUG_ENV) or not is_config_error(err):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args \
            else str(err)
        print(f'error: {message}\n(set {DEBUG_ENV}=1 to see the traceback)',
              file=sys.stderr)
        sys.exit(2)
