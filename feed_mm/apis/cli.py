"""What tools/train.py and tools/test.py share: config loading with the
MMPretrain/MMRazor command-line conventions, and clear errors."""
import argparse
import os
import os.path as osp
import sys
from typing import Callable, Mapping, Optional, Tuple

from mmengine.config import Config, DictAction

from feed_mm.utils import FEEDConfigError, resolve_config

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
        config (str): Path of the config file: relative to the working
            directory, or one of feed_mm's configs from anywhere (see
            :func:`feed_mm.utils.resolve_config`).
        work_dir (str, optional): ``--work-dir``; defaults to
            ``./work_dirs/<config name>`` when the config sets none.
        cfg_options (dict, optional): ``--cfg-options`` key=value overrides.
        launcher (str): ``--launcher``. Without a GPU, a distributed
            launcher runs CPU processes with the gloo backend, and their
            process group is started here (see
            :func:`init_dist_without_gpu`).

    Returns:
        Config: The merged config.
    """
    cfg = Config.fromfile(resolve_config(config))
    for key, value in (cfg_options or {}).items():
        try:
            cfg.merge_from_dict({key: value})
        except (TypeError, KeyError, AttributeError, IndexError) as err:
            raise FEEDConfigError(
                f'--cfg-options {key}', f'cannot be merged into the config '
                f'({type(err).__name__}: {err}); a list-valued setting (e.g. '
                'param_scheduler) is set by index, '
                'param_scheduler.0.milestones=[2,3], or whole') from err
    move_compile_to_feed(cfg)
    set_input_shape(cfg)
    cfg.launcher = launcher
    if launcher != 'none' and not _cuda_available():
        # NCCL needs GPUs; gloo runs the same job on CPU processes.
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})
        cfg.env_cfg.dist_cfg.backend = 'gloo'
        if cfg.get('model_wrapper_cfg') is None:
            # The runner's default wrapper pins each process to the GPU of
            # its LOCAL_RANK (device_ids), which DDP refuses for CPU modules.
            cfg.model_wrapper_cfg = dict(
                type='MMDistributedDataParallel',
                device_ids=None,
                broadcast_buffers=False,
                find_unused_parameters=cfg.get('find_unused_parameters',
                                               False))
        init_dist_without_gpu(launcher, cfg.env_cfg)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


# Transforms that fix the size of the training images, and the argument
# that gives it (its order: (h, w) or (w, h) for a pair).
_SIZE_TRANSFORMS = {
    'RandomResizedCrop': ('scale', 'hw'), 'RandomCrop': ('crop_size', 'hw'),
    'EfficientNetRandomCrop': ('scale', 'hw'), 'Resize': ('scale', 'wh'),
    'CenterCrop': ('crop_size', 'wh'), 'EfficientNetCenterCrop':
    ('crop_size', 'hw')}


def pipeline_input_shape(cfg: Config) -> Optional[Tuple[int, int, int]]:
    """``(C, H, W)`` of the training images: the size the last crop or
    resize of the training pipeline gives, the channels of the data
    preprocessor's mean; None when the pipeline fixes no size."""
    dataset = (cfg.get('train_dataloader') or {}).get('dataset') or {}
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset['dataset']  # dataset wrappers
    size = None
    for transform in dataset.get('pipeline') or []:
        name = str(transform.get('type', '')).rpartition('.')[2]
        arg, order = _SIZE_TRANSFORMS.get(name, (None, None))
        value = transform.get(arg) if arg and not transform.get(
            'keep_ratio') else None
        if isinstance(value, int):
            size = (value, value)
        elif isinstance(value, (list, tuple)) and len(value) == 2:
            size = tuple(value) if order == 'hw' else tuple(value[::-1])
    if size is None:
        return None
    # The model's own preprocessor wins over the config's, as in MMEngine.
    preprocessor = (cfg.get('model') or {}).get('data_preprocessor') or \
        cfg.get('data_preprocessor') or {}
    return (len(preprocessor.get('mean') or (0, 0, 0)), *size)


def set_input_shape(cfg: Config) -> None:
    """A FEED model's ``input_shape`` (the dry run's) from the training
    pipeline when the config does not write it; a written one is checked
    against the pipeline."""
    model = cfg.get('model')
    if not isinstance(model, Mapping) or str(model.get(
            'type', '')).rpartition('.')[2] != 'FEEDDistill':
        return
    inferred = pipeline_input_shape(cfg)
    written = model.get('input_shape')
    if written is None:
        if inferred is not None:
            model['input_shape'] = inferred
    elif inferred is not None and tuple(written) != inferred:
        raise FEEDConfigError(
            'model.input_shape', f'is {tuple(written)}, but the training '
            f'pipeline and data preprocessor give {inferred} images')


def move_compile_to_feed(cfg: Config) -> None:
    """Hand MMEngine's ``compile`` option of a FEED config to
    ``FEEDDistill(compile=...)``.

    The runner would compile the whole ``train_step``, whose recorders and
    teacher early stop make dynamo recompile at every step until it gives
    up; FEED compiles its pure tensor parts instead (see
    ``feed_mm/models/algorithms/compiling.py``).
    """
    model = cfg.get('model')
    compile_cfg = cfg.get('compile')
    if compile_cfg is None or compile_cfg is False or not isinstance(
            model, Mapping) or str(model.get('type', '')).rpartition(
                '.')[2] != 'FEEDDistill':
        return
    model['compile'] = compile_cfg
    cfg.compile = None


def _cuda_available() -> bool:
    import torch
    return torch.cuda.is_available()


def init_dist_without_gpu(launcher: str, env_cfg: dict) -> None:
    """Start the process group of a distributed run on a machine without
    GPUs, once per process, as the runner's ``setup_env`` would.

    MMEngine's ``init_dist`` pins every process to a GPU with
    ``torch.cuda.set_device``, which raises where there is none; here that
    call is a no-op while the group starts. The runner then finds the group
    started and skips its own ``init_dist``.

    Args:
        launcher (str): ``'pytorch'``, ``'slurm'`` or ``'mpi'``.
        env_cfg (dict): The config's ``env_cfg`` (``mp_cfg`` and
            ``dist_cfg``).
    """
    import torch
    from mmengine.dist import init_dist, is_distributed
    from mmengine.utils.dl_utils import set_multi_processing
    if is_distributed():
        return
    set_multi_processing(**env_cfg.get('mp_cfg', {}), distributed=True)
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        init_dist(launcher, **env_cfg.get('dist_cfg', {}))
    finally:
        torch.cuda.set_device = set_device


def is_config_error(err: BaseException) -> bool:
    """Whether ``err`` says the config, a file it names or the disk is
    wrong (as opposed to a bug): one line tells the user what to fix."""
    from feed_mm.utils.atomic_io import AtomicWriteError
    from feed_mm.utils.checkpoint import (CorruptCheckpointError,
                                          UnsafeCheckpointError)
    if isinstance(err, (FEEDConfigError, UnsafeCheckpointError,
                        CorruptCheckpointError, FileNotFoundError,
                        AtomicWriteError)):
        return True
    return isinstance(err, (KeyError, TypeError)) and any(
        marker in str(err) for marker in _BUILD_ERROR_MARKERS)


def run_cli(main: Callable[[], None]) -> None:
    """Run a tool's main(); a config error ends it with one clear line on
    stderr and exit code 2 instead of a traceback from deep in the stack
    (``FEED_MM_DEBUG=1`` shows the traceback)."""
    try:
        main()
        _close_process_group(wait_for_all_ranks=True)
    except Exception as err:  # noqa: B902 - filtered by is_config_error
        if os.environ.get(DEBUG_ENV) or not is_config_error(err):
            raise
        message = err.args[0] if isinstance(err, KeyError) and err.args \
            else str(err)
        print(f'error: {message}\n(set {DEBUG_ENV}=1 to see the traceback)',
              file=sys.stderr)
        sys.exit(2)
    finally:
        _close_process_group()


def _close_process_group(wait_for_all_ranks: bool = False) -> None:
    """End a distributed run's process group before the interpreter exits:
    a gloo group left to the exit handlers, or torn down by one rank while
    another still uses it, can abort the process (``terminate called
    without an active exception``) after a run that succeeded. After a
    success every rank waits for the others first; after an error it does
    not (a rank that died would never arrive)."""
    import gc

    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        # The runner's DDP wrapper, kept alive by reference cycles, holds
        # the group: freed now, not in the interpreter's exit.
        gc.collect()
        if wait_for_all_ranks:
            dist.barrier()
        dist.destroy_process_group()
