"""Training-step benchmark of FEED against its physical floor and against
MMRazor's single-teacher Factor Transfer (see ``docs/benchmark.md``).

In one process, after warm-up, the median of repeated steps of: the plain
student's training step, each teacher's forward alone (eval, no grad; whole
and stopped after the recorded backbone), FEED's training step for N
teachers, its teacher phase and translators, MMRazor's
``SingleTeacherDistill`` + ``Translator`` + ``FTLoss`` for N = 1, and FEED's
teacher options (autocast, ``channels_last``, batched teachers). Peak memory:
CUDA's max allocated bytes in this process on a GPU; on CPU the peak RSS of
a fresh process per case (forked from a server that has only imported
feed_mm, so no other case's allocations count).

Inputs are random tensors of the preset's shape with random labels: no data
set is read. Teachers keep their random initialisation, which costs the same
as trained weights.
"""
import datetime
import gc
import multiprocessing
import os
import os.path as osp
import platform
import resource
import statistics
import time
from dataclasses import dataclass
from functools import partial
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence,
                    Tuple)

import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper
from mmengine.registry import DefaultScope
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

import feed_mm  # noqa: F401 - torch shims and registries before any build
from feed_mm.models.algorithms.teacher_spec import build_model
from feed_mm.models.algorithms.teacher_forward import ModuleTap
from feed_mm.models.distillers.validation import parse_feature_spec

MIB = 2**20
RECIPE = 'configs/feed/_base_/feed_recipe.py'
# SGD as in the paper's CIFAR schedule; a small lr keeps random-label
# training finite (NaNs or denormals would change the timings).
OPTIMIZER = dict(lr=0.01, momentum=0.9, weight_decay=5e-4)
# Train-step cases run this many steps before the peak is read, so the
# optimizer's momentum buffers exist.
MEMORY_STEPS = 2
# FEED step / floor, FEED(N=1) / MMRazor FT, memory slack and batched
# teacher speedup of the targets.
FLOOR_TARGET = 1.05
MMRAZOR_TARGET = 1.0
MEMORY_SLACK = 1.1
BATCHED_TARGET = 1.5


@dataclass(frozen=True)
class Preset:
    """Models and input shape of a benchmark preset.

    Args:
        model (str): Model config file (its ``model``), relative to the
            repository root: the student and every teacher.
        data (str): Data config file whose ``data_preprocessor`` is used.
        input_size (int): Height and width of the random images.
        gpu_batch_size (int): Default batch size on a GPU.
        cpu_batch_size (int): Default batch size on CPU.
    """
    model: str
    data: str
    input_size: int
    gpu_batch_size: int
    cpu_batch_size: int


PRESETS = {
    # ResNet-20 on 32x32: the small preset that runs on CPU in minutes.
    'digits': Preset('configs/_base_/models/digits_resnet20.py',
                     'configs/_base_/datasets/sklearn_digits.py', 32, 128,
                     128),
    'cifar': Preset('configs/_base_/models/cifar_resnet56.py',
                    'configs/_base_/datasets/cifar100_bs128.py', 32, 128, 128),
    # A batch of 256 ResNet-34 images at 224 takes minutes per step on CPU.
    'imagenet': Preset('configs/_base_/models/imagenet_resnet34.py',
                       'configs/_base_/datasets/imagenet_bs256.py', 224, 256,
                       16),
}

# Option tokens of a FEED variant ('batched+bf16') -> FEEDDistill argument.
OPTION_ARGS = {
    'bf16': ('teacher_autocast', 'bf16'),
    'fp16': ('teacher_autocast', 'fp16'),
    'channels_last': ('channels_last', True),
    'batched': ('batch_teachers', True),
}
DEFAULT_OPTIONS = {
    'cpu': ['bf16', 'channels_last', 'batched', 'batched+bf16'],
    'cuda': [
        'bf16', 'fp16', 'channels_last', 'bf16+channels_last',
        'fp16+channels_last', 'batched', 'batched+bf16',
        'batched+fp16+channels_last'
    ],
}


def parse_variant(variant: str) -> Dict[str, Any]:
    """The FEEDDistill arguments of a variant such as ``'batched+bf16'``.

    Raises:
        ValueError: On an unknown option or two autocast dtypes.
    """
    kwargs: Dict[str, Any] = {}
    for token in variant.split('+'):
        if token not in OPTION_ARGS:
            raise ValueError(f'--options: unknown option {token!r} in '
                             f'{variant!r} (allowed: {", ".join(OPTION_ARGS)}'
                             ", joined by '+')")
        arg, value = OPTION_ARGS[token]
        if arg in kwargs:
            raise ValueError(f'--options: {variant!r} sets {arg} twice')
        kwargs[arg] = value
    return kwargs


def check_arguments(teacher_counts: Sequence[int],
                    variants: Optional[Sequence[str]], warmup: int,
                    repeats: int, batch_size: Optional[int] = None,
                    threads: Optional[int] = None,
                    input_size: Optional[int] = None) -> None:
    """Check the benchmark's arguments.

    Raises:
        ValueError: Naming the command-line flag of the bad value.
    """
    if not teacher_counts or min(teacher_counts) < 1:
        raise ValueError('--teachers: every N must be >= 1, got '
                         f'{list(teacher_counts)}')
    if warmup < 0:
        raise ValueError(f'--warmup must be >= 0, got {warmup}')
    for flag, value in (('--repeats', repeats), ('--batch-size', batch_size),
                        ('--threads', threads), ('--input-size', input_size)):
        if value is not None and value < 1:
            raise ValueError(f'{flag} must be >= 1, got {value}')
    for variant in variants or ():
        parse_variant(variant)


@dataclass(frozen=True)
class Setting:
    """Everything a case needs to build its models and batch; plain data, so
    that it reaches the memory subprocesses.

    Args:
        preset (str): Preset name.
        model (dict): Model config of the student (and of every teacher
            unless ``teacher_model`` is given).
        preprocessor (dict): ``data_preprocessor`` of every model.
        distiller (dict): FEED's distiller config (the recipe's).
        input_shape (tuple): ``(C, H, W)`` of one image.
        batch_size (int): Images per step.
        device (str): ``'cpu'`` or ``'cuda'``.
        threads (int, optional): ``torch.set_num_threads`` of every process.
        teacher_model (dict, optional): Model config of every teacher.
        model_files (dict, optional): ``student`` and ``teacher``: the files
            the models were read from, for the report.
    """
    preset: str
    model: Dict
    preprocessor: Dict
    distiller: Dict
    input_shape: Tuple[int, int, int]
    batch_size: int
    device: str
    threads: Optional[int] = None
    teacher_model: Optional[Dict] = None
    model_files: Optional[Dict[str, str]] = None

    @classmethod
    def from_preset(cls,
                    name: str,
                    root: str,
                    device: str = 'cpu',
                    batch_size: Optional[int] = None,
                    threads: Optional[int] = None,
                    student: Optional[str] = None,
                    teacher: Optional[str] = None,
                    input_size: Optional[int] = None) -> 'Setting':
        """Read a preset's configs under the repository ``root``.

        Args:
            student (str, optional): A config file whose ``model`` replaces
                the preset's student.
            teacher (str, optional): A config file whose ``model`` replaces
                the preset's teachers (default: the student's model).
            input_size (int, optional): Replaces the preset's image size.
        """
        preset = PRESETS[name]
        if batch_size is None:
            batch_size = (preset.gpu_batch_size
                          if device == 'cuda' else preset.cpu_batch_size)
        student = student or osp.join(root, preset.model)
        teacher = teacher or student
        size = input_size or preset.input_size
        return cls(
            preset=name,
            model=read_model(student, '--student'),
            teacher_model=read_model(teacher, '--teacher'),
            model_files=dict(student=student, teacher=teacher),
            preprocessor=Config.fromfile(osp.join(
                root, preset.data)).data_preprocessor.to_dict(),
            distiller=Config.fromfile(osp.join(
                root, RECIPE)).feed_distiller.to_dict(),
            input_shape=(3, size, size),
            batch_size=batch_size,
            device=device,
            threads=threads)

    @property
    def teacher(self) -> Dict:
        """Model config of every teacher."""
        return self.teacher_model or self.model

    @property
    def num_classes(self) -> int:
        return self.model['head']['num_classes']

    @property
    def teacher_source(self) -> str:
        """The module whose output FEED reads from every teacher."""
        return parse_feature_spec(self.distiller['teacher_feature'],
                                  'teacher_feature')['source']


def read_model(path: str, flag: str) -> Dict:
    """The ``model`` of a config file, a classifier with a head.

    Raises:
        ValueError: Naming ``flag`` and the file, when the file is missing
            or holds no such model.
    """
    if not osp.isfile(path):
        raise ValueError(f'{flag}: no config file {path!r}')
    model = Config.fromfile(path).get('model')
    if not isinstance(model, Mapping) or not isinstance(
            model.get('head'), Mapping) or 'num_classes' not in model['head']:
        raise ValueError(
            f'{flag}: {path!r} has no classifier `model` with a '
            '`head.num_classes` (a FEED config? give the model file of its '
            'student or teacher)')
    return Config(model).to_dict()


# ----------------------------------------------------------------------
# Models, batch and optimizer
def _razor_build(cfg: Dict) -> nn.Module:
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(cfg)


def _classifier(setting: Setting, model: Dict) -> nn.Module:
    return build_model(
        dict(model, data_preprocessor=setting.preprocessor), 'model')


def build_student(setting: Setting) -> nn.Module:
    """The plain mmpretrain classifier, in train mode."""
    return _classifier(setting, setting.model).to(setting.device).train()


def build_teacher(setting: Setting) -> nn.Module:
    """A frozen teacher as FEED holds it: eval mode, no gradients."""
    teacher = _classifier(setting, setting.teacher).to(
        setting.device).eval()
    teacher.requires_grad_(False)
    return teacher


def build_feed(setting: Setting, n: int, variant: str = '') -> nn.Module:
    """FEEDDistill with ``n`` teachers of the setting's teacher model (random
    weights) and the options of ``variant``."""
    options = parse_variant(variant) if variant else {}
    algo = _razor_build(
        dict(
            type='FEEDDistill',
            architecture=setting.model,
            teachers={
                f't{i}': dict(model=setting.teacher, ckpt=None)
                for i in range(n)
            },
            distiller=setting.distiller,
            input_shape=setting.input_shape,
            data_preprocessor=setting.preprocessor,
            **options))
    return algo.to(setting.device).train()


def build_mmrazor_ft(setting: Setting, channels: Tuple[int, int]) -> nn.Module:
    """MMRazor's Factor Transfer student side: SingleTeacherDistill +
    ConfigurableDistiller + Translator + FTLoss on the same features and
    with FEED's beta; ``channels`` is ``(C_s, C_t)``."""
    feature = parse_feature_spec(setting.distiller['student_feature'],
                                 'student_feature')
    teacher_feature = parse_feature_spec(setting.distiller['teacher_feature'],
                                         'teacher_feature')

    def record(spec: Dict, from_student: bool, **extra) -> Dict:
        # FEED reads the last element of a tuple output by default.
        data_idx = -1 if spec['data_idx'] is None else spec['data_idx']
        return dict(recorder='feat', from_student=from_student,
                    data_idx=data_idx, **extra)

    student, teacher = (dict(
        model, _scope_='mmpretrain', type=model['type'].rpartition('.')[2])
                        for model in (setting.model, setting.teacher))
    algo = _razor_build(
        dict(
            type='SingleTeacherDistill',
            architecture=student,
            teacher=teacher,
            data_preprocessor=setting.preprocessor,
            distiller=dict(
                type='ConfigurableDistiller',
                student_recorders=dict(feat=dict(
                    type='ModuleOutputs', source=feature['source'])),
                teacher_recorders=dict(feat=dict(
                    type='ModuleOutputs', source=teacher_feature['source'])),
                connectors=dict(translator=dict(
                    type='Translator', in_channel=channels[0],
                    out_channel=channels[1], use_bn=False)),
                distill_losses=dict(loss_ft=dict(
                    type='FTLoss',
                    loss_weight=setting.distiller['feed_loss']['loss_weight'])),
                loss_forward_mappings=dict(loss_ft=dict(
                    s_feature=record(feature, True, connector='translator'),
                    t_feature=record(teacher_feature, False))))))
    # SingleTeacherDistill.train returns None.
    algo.to(setting.device).train()
    return algo


def make_batch(setting: Setting, seed: int = 0) -> Dict[str, Any]:
    """A batch as a dataloader gives it (0..255 pixel values, labelled
    data samples), already on the device."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randint(
        0, 256, (setting.batch_size, *setting.input_shape),
        generator=gen).float()
    labels = torch.randint(0, setting.num_classes, (setting.batch_size, ),
                           generator=gen)
    return dict(
        inputs=inputs.to(setting.device),
        data_samples=[
            DataSample().set_gt_label(int(label)).to(setting.device)
            for label in labels
        ])


def make_optim_wrapper(model: nn.Module) -> OptimWrapper:
    """SGD with momentum over the trainable parameters."""
    params = [p for p in model.parameters() if p.requires_grad]
    return OptimWrapper(optimizer=torch.optim.SGD(params, **OPTIMIZER))


def weight_bytes(model: nn.Module) -> int:
    """Bytes of a model's parameters and buffers."""
    return sum(t.numel() * t.element_size()
               for t in (*model.parameters(), *model.buffers()))


# ----------------------------------------------------------------------
# Cases: what is timed and whose memory is measured
CASES = ('student', 'teacher_full', 'teacher_backbone', 'feed', 'mmrazor_ft')


def build_case(setting: Setting, spec: Dict[str, Any],
               batch: Dict[str, Any]) -> Tuple[nn.Module, Callable[[], Any]]:
    """Build the model of a case and the closure that runs one step of it.

    Args:
        setting (Setting): The benchmark setting.
        spec (dict): ``case`` (one of :data:`CASES`), with ``n`` and
            ``variant`` for ``'feed'`` and ``channels`` for ``'mmrazor_ft'``.
        batch (dict): The batch of :func:`make_batch`.

    Returns:
        tuple: The model and its step.
    """
    case = spec['case']
    if case in ('teacher_full', 'teacher_backbone'):
        teacher = build_teacher(setting)
        return teacher, teacher_forwards(setting, teacher, batch)[case]
    if case == 'student':
        model = build_student(setting)
    elif case == 'feed':
        model = build_feed(setting, spec['n'], spec.get('variant', ''))
    elif case == 'mmrazor_ft':
        model = build_mmrazor_ft(setting, tuple(spec['channels']))
    else:
        raise ValueError(f'unknown benchmark case {case!r} (one of {CASES})')
    optim_wrapper = make_optim_wrapper(model)
    return model, partial(model.train_step, batch, optim_wrapper)


def teacher_forwards(setting: Setting, teacher: nn.Module,
                     batch: Dict[str, Any]) -> Dict[str, Callable[[], Any]]:
    """A teacher's forward alone on ``batch`` (preprocessed once, outside
    the timing), without autograd: ``teacher_full`` (backbone, neck and
    head) and ``teacher_backbone`` (stopped after the module FEED reads, as
    FEED's early stop does)."""
    inputs = teacher.data_preprocessor(batch, False)['inputs']
    tap = ModuleTap(teacher, [setting.teacher_source], stop=True)

    @torch.no_grad()
    def full() -> None:
        teacher(inputs, mode='tensor')

    @torch.no_grad()
    def backbone() -> None:
        with tap:
            teacher(inputs, mode='tensor')

    return dict(teacher_full=full, teacher_backbone=backbone)


def _quiet_logs() -> None:
    # Every build would warn that its random teachers have no checkpoint.
    MMLogger.get_instance('feed_mm_benchmark', log_level='ERROR')


def _synchronize(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def time_interleaved(fns: Dict[str, Callable[[], Any]], device: str,
                     warmup: int, repeats: int) -> Dict[str, float]:
    """Median wall time in milliseconds of each of ``fns``, after ``warmup``
    calls of each. The functions take turns, so that a drift of the machine
    (clocks, temperature, other load) weighs on all of them alike."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            _synchronize(device)
            start = time.perf_counter()
            fn()
            _synchronize(device)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(v) * 1e3 for name, v in samples.items()}


def time_ms(fn: Callable[[], Any], device: str, warmup: int,
            repeats: int) -> float:
    """Median wall time of ``fn`` in milliseconds, after ``warmup`` calls."""
    return time_interleaved(dict(fn=fn), device, warmup, repeats)['fn']


def _current_rss() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


def measure_memory_case(setting: Setting,
                        spec: Dict[str, Any]) -> Dict[str, float]:
    """Peak memory of a case in this process: build it, run
    :data:`MEMORY_STEPS` steps.

    On CUDA, allocated bytes; ``after_build_mib`` is taken after one step,
    so it holds the optimizer state and the increase is the activations. On
    CPU, the process's RSS (``ru_maxrss``, Linux) and ``after_build_mib``
    right after building; only meaningful in a fresh process, see
    :func:`measure_memory`.

    Returns:
        dict: ``base_mib`` (before anything is built: on CPU the interpreter
        and libraries), ``after_build_mib``, ``peak_mib`` and
        ``increase_mib`` (peak minus after build).
    """
    _quiet_logs()
    if setting.threads:
        torch.set_num_threads(setting.threads)
    torch.manual_seed(0)
    cuda = setting.device == 'cuda'
    base = torch.cuda.memory_allocated() if cuda else _current_rss()
    batch = make_batch(setting)
    _model, step = build_case(setting, spec, batch)
    if cuda:
        step()
        gc.collect()
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        after_build = torch.cuda.memory_allocated()
        for _ in range(MEMORY_STEPS - 1):
            step()
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
    else:
        after_build = _current_rss()
        for _ in range(MEMORY_STEPS):
            step()
        # KiB on Linux.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return dict(
        base_mib=base / MIB,
        after_build_mib=after_build / MIB,
        peak_mib=peak / MIB,
        increase_mib=(peak - after_build) / MIB)


def measure_memory(setting: Setting,
                   specs: Sequence[Dict[str, Any]]) -> List[Dict[str, float]]:
    """:func:`measure_memory_case` of every spec: in this process on CUDA
    (peaks are reset per case), on CPU each in a fresh process forked from a
    server that has only imported this module."""
    if setting.device == 'cuda':
        results = []
        for spec in specs:
            results.append(measure_memory_case(setting, spec))
            gc.collect()
        return results
    context = multiprocessing.get_context('forkserver')
    context.set_forkserver_preload([__name__])
    results = []
    for spec in specs:
        with context.Pool(1, maxtasksperchild=1) as pool:
            results.append(pool.apply(measure_memory_case, (setting, spec)))
    return results


# ----------------------------------------------------------------------
# The benchmark
def _feature_shapes(algo: nn.Module, batch: Dict[str, Any]
                    ) -> Tuple[torch.Size, Dict[str, torch.Size]]:
    """Shapes of the student's and teachers' FEED maps on ``batch``."""
    inputs = algo.data_preprocessor(batch, False)['inputs']
    with torch.no_grad():
        algo._run_teachers(inputs, None)
        with algo.distiller.student_recorders:
            algo.student(inputs, mode='tensor')
    distiller = algo.distiller
    shapes = (distiller.feed_feature(None).shape,
              {name: distiller.feed_feature(name).shape
               for name in algo.teachers})
    distiller.clear_records()
    return shapes


def teacher_phase(algo: nn.Module, batch: Dict[str, Any]) -> Callable[[], None]:
    """The teacher phase of FEED's step on ``batch``, as ``loss`` runs it
    (inputs preprocessed once, outside the timing)."""
    inputs = algo.data_preprocessor(batch, True)['inputs']
    if algo.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    samples = batch['data_samples']

    def run() -> None:
        algo._run_teachers(inputs, samples)
        algo.distiller.clear_records()

    return run


def translators_step(algo: nn.Module,
                     student_shape: torch.Size) -> Callable[[], None]:
    """Forward and backward of all translators on a student-sized map."""
    translators = list(algo.distiller.translators.values())
    params = [p for t in translators for p in t.parameters()]
    feature = torch.randn(
        student_shape, device=next(algo.parameters()).device,
        requires_grad=True)

    def run() -> None:
        feature.grad = None
        for param in params:
            param.grad = None
        sum(t(feature).float().mean() for t in translators).backward()

    return run


def _ratio(numerator: Optional[float],
           denominator: Optional[float]) -> Optional[float]:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


def machine_info(device: str) -> Dict[str, Any]:
    """CPU model, cores, library versions and the GPU's name."""
    import mmengine
    import mmpretrain
    import mmrazor
    cpu_model = platform.processor() or platform.machine()
    if osp.isfile('/proc/cpuinfo'):
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    cpu_model = line.split(':', 1)[1].strip()
                    break
    info = dict(
        cpu_model=cpu_model,
        cpu_cores=os.cpu_count(),
        cpu_cores_available=len(os.sched_getaffinity(0)) if hasattr(
            os, 'sched_getaffinity') else os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        platform=platform.platform(),
        python=platform.python_version(),
        torch=torch.__version__,
        mmengine=mmengine.__version__,
        mmpretrain=mmpretrain.__version__,
        mmrazor=mmrazor.__version__,
        feed_mm=feed_mm.__version__,
        device_name=(torch.cuda.get_device_name()
                     if device == 'cuda' else cpu_model),
        cuda=torch.version.cuda if device == 'cuda' else None)
    return info


def _bound_check(memory: Optional[Dict[str, float]],
                 bound: Optional[float]) -> Optional[Dict[str, float]]:
    if memory is None:
        return None
    return dict(memory, bound_mib=bound,
                within_bound=None if bound is None else
                memory['peak_mib'] <= bound)


def run_benchmark(setting: Setting,
                  teacher_counts: Sequence[int] = (1, 2, 3, 4),
                  variants: Optional[Sequence[str]] = None,
                  warmup: int = 3,
                  repeats: int = 10,
                  memory: bool = True,
                  command: Optional[str] = None,
                  log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run the benchmark; returns the figures (see ``docs/benchmark.md``
    for the schema).

    Args:
        setting (Setting): Preset, batch size, device, threads.
        teacher_counts (Sequence[int]): The values of N.
        variants (Sequence[str], optional): FEED option variants, e.g.
            ``'bf16'`` or ``'batched+bf16'`` (see :data:`OPTION_ARGS`).
            Defaults to :data:`DEFAULT_OPTIONS` of the device. Variants with
            ``batched`` run for N >= 2 only.
        warmup (int): Untimed calls before each timing.
        repeats (int): Timed calls; their median is reported.
        memory (bool): Measure peak memory.
        command (str, optional): The command line, kept in the results.
        log (Callable): Progress messages.

    Returns:
        dict: ``meta``, ``units``, ``student``, ``teachers``,
        ``teacher_memory``, ``runs`` (one per N) and ``targets``.
    """
    check_arguments(teacher_counts, variants, warmup, repeats,
                    setting.batch_size, setting.threads)
    counts = sorted(set(teacher_counts))
    variants = list(dict.fromkeys(
        DEFAULT_OPTIONS[setting.device] if variants is None else variants))
    _quiet_logs()
    if setting.threads:
        torch.set_num_threads(setting.threads)
    device = setting.device
    date = datetime.datetime.now().astimezone().isoformat(timespec='seconds')
    timer = partial(time_ms, device=device, warmup=warmup, repeats=repeats)
    batch = make_batch(setting)
    torch.manual_seed(0)

    def timed(label: str, fn: Callable[[], Any]) -> float:
        value = timer(fn)
        log(f'{label}: {value:.2f} ms')
        return value

    # Student alone.
    student, step = build_case(setting, dict(case='student'), batch)
    results: Dict[str, Any] = dict(student=dict(step_ms=timed(
        'student step', step)))
    del student, step

    # Each teacher alone, whole and stopped after the recorded module.
    teachers: Dict[str, Dict[str, float]] = {}
    for index in range(counts[-1]):
        name = f't{index}'
        teacher = build_teacher(setting)
        forwards = teacher_forwards(setting, teacher, batch)
        full_ms = timed(f'teacher {name} full forward',
                        forwards['teacher_full'])
        backbone_ms = timed(f'teacher {name} backbone forward',
                            forwards['teacher_backbone'])
        teachers[name] = dict(
            full_forward_ms=full_ms,
            backbone_forward_ms=backbone_ms,
            early_stop_saving_ms=full_ms - backbone_ms,
            early_stop_saving_ratio=_ratio(full_ms - backbone_ms, full_ms),
            weights_mib=weight_bytes(teacher) / MIB)
        del teacher, forwards
    results['teachers'] = teachers

    runs = []
    mmrazor_channels: Optional[Tuple[int, int]] = None
    for n in counts:
        names = [f't{i}' for i in range(n)]
        run: Dict[str, Any] = dict(n=n, teachers=names, memory=None)
        run['floor_full_ms'] = results['student']['step_ms'] + sum(
            teachers[t]['full_forward_ms'] for t in names)
        run['floor_backbone_ms'] = results['student']['step_ms'] + sum(
            teachers[t]['backbone_forward_ms'] for t in names)

        algo, step = build_case(setting, dict(case='feed', n=n), batch)
        student_shape, teacher_shapes = _feature_shapes(algo, batch)
        run['mmrazor_ft_step_ms'] = run['feed_over_mmrazor_ft'] = None
        if n == 1:
            # Head to head, in turns: a difference of a few percent is the
            # figure of interest.
            mmrazor_channels = (student_shape[1], teacher_shapes['t0'][1])
            razor, razor_step = build_case(
                setting, dict(case='mmrazor_ft', channels=mmrazor_channels),
                batch)
            times = time_interleaved(
                dict(feed=step, mmrazor=razor_step), device, warmup, repeats)
            run['feed_step_ms'] = times['feed']
            run['mmrazor_ft_step_ms'] = times['mmrazor']
            run['feed_over_mmrazor_ft'] = _ratio(times['feed'],
                                                 times['mmrazor'])
            log(f"N=1 FEED step: {times['feed']:.2f} ms, MMRazor FT step: "
                f"{times['mmrazor']:.2f} ms (in turns)")
            del razor, razor_step
        else:
            run['feed_step_ms'] = timed(f'N={n} FEED step', step)
        run['feed_over_floor_full'] = _ratio(run['feed_step_ms'],
                                             run['floor_full_ms'])
        run['feed_over_floor_backbone'] = _ratio(run['feed_step_ms'],
                                                 run['floor_backbone_ms'])
        run['teacher_phase_ms'] = timed(f'N={n} teacher phase',
                                        teacher_phase(algo, batch))
        run['translators_ms'] = timed(
            f'N={n} translators fwd+bwd', translators_step(algo,
                                                           student_shape))
        run['translators_share'] = _ratio(run['translators_ms'],
                                          run['feed_step_ms'])
        # The translators are FEED's own training work, which the floor
        # leaves out: without them, what remains above the floor is the
        # framework's overhead (recorders, losses, bookkeeping).
        run['feed_minus_translators_over_floor_full'] = _ratio(
            run['feed_step_ms'] - run['translators_ms'], run['floor_full_ms'])
        run['teacher_groups'] = algo.teacher_groups
        del algo, step


        options: Dict[str, Dict[str, Any]] = {}
        for variant in variants:
            if 'batched' in variant.split('+') and n < 2:
                options[variant] = dict(
                    skipped='batched teachers need N >= 2')
                continue
            algo, step = build_case(
                setting, dict(case='feed', n=n, variant=variant), batch)
            phase_ms = timed(f'N={n} [{variant}] teacher phase',
                             teacher_phase(algo, batch))
            step_ms = timed(f'N={n} [{variant}] FEED step', step)
            options[variant] = dict(
                teacher_groups=algo.teacher_groups,
                teacher_phase_ms=phase_ms,
                teacher_phase_speedup=_ratio(run['teacher_phase_ms'],
                                             phase_ms),
                feed_step_ms=step_ms,
                feed_step_speedup=_ratio(run['feed_step_ms'], step_ms),
                feed_over_floor_full=_ratio(step_ms, run['floor_full_ms']))
            del algo, step
        run['options'] = options
        runs.append(run)
        gc.collect()
    results['runs'] = runs

    # The memory cases build their own batch.
    del batch
    results['teacher_memory'] = None
    results['student']['memory'] = None
    if memory:
        _add_memory(results, setting, mmrazor_channels, log)
    results['targets'] = summarize_targets(results)
    meta = dict(
        date=date,
        command=command,
        preset=setting.preset,
        models=setting.model_files,
        device=device,
        batch_size=setting.batch_size,
        input_shape=list(setting.input_shape),
        teacher_counts=counts,
        options=variants,
        warmup=warmup,
        repeats=repeats,
        threads=setting.threads,
        memory_method=None if not memory else
        ('cuda_max_memory_allocated' if device == 'cuda' else
         'peak_rss_of_a_fresh_process'),
        machine=machine_info(device))
    units = {
        '*_ms': 'milliseconds, median over the repeats',
        '*_mib': 'MiB (2**20 bytes)',
        '*_over_*, *_share, *_ratio, *_speedup, slack': 'dimensionless',
    }
    return dict(meta=meta, units=units, **results)


def _add_memory(results: Dict[str, Any], setting: Setting,
                mmrazor_channels: Optional[Tuple[int, int]],
                log: Callable[[str], None]) -> None:
    """Measure every case's peak and compare FEED's with its bound."""
    specs: List[Dict[str, Any]] = [
        dict(case='student'), dict(case='teacher_full'),
        dict(case='teacher_backbone')
    ]
    for run in results['runs']:
        specs.append(dict(case='feed', n=run['n']))
        specs += [
            dict(case='feed', n=run['n'], variant=variant)
            for variant, figures in run['options'].items()
            if 'skipped' not in figures
        ]
    if mmrazor_channels is not None:
        specs.append(dict(case='mmrazor_ft', channels=mmrazor_channels))
    log(f'measuring the peak memory of {len(specs)} cases')
    measured = measure_memory(setting, specs)
    by_case = {(s['case'], s.get('n'), s.get('variant', '')): m
               for s, m in zip(specs, measured)}

    results['student']['memory'] = by_case[('student', None, '')]
    results['teacher_memory'] = dict(
        full_forward=by_case[('teacher_full', None, '')],
        backbone_forward=by_case[('teacher_backbone', None, '')])
    # Every teacher has the preset's architecture: t0's activations stand
    # for the largest single teacher's.
    activations = results['teacher_memory']['backbone_forward'][
        'increase_mib']
    student = results['student']['memory']
    for run in results['runs']:
        n = run['n']
        terms = dict(
            base_mib=student['base_mib'],
            student_peak_mib=student['peak_mib'],
            teachers_weights_mib=sum(results['teachers'][t]['weights_mib']
                                     for t in run['teachers']),
            largest_teacher_activations_mib=activations,
            slack=MEMORY_SLACK)
        # The slack applies to what the models use, not to the memory the
        # process holds before building anything.
        bound = terms['base_mib'] + MEMORY_SLACK * (
            terms['student_peak_mib'] - terms['base_mib'] +
            terms['teachers_weights_mib'] + activations)
        run['memory'] = dict(
            bound_mib=bound,
            bound_terms=terms,
            feed=_bound_check(by_case[('feed', n, '')], bound),
            mmrazor_ft=by_case.get(('mmrazor_ft', None, ''))
            if n == 1 else None)
        for variant, figures in run['options'].items():
            if 'skipped' not in figures:
                figures['memory'] = _bound_check(
                    by_case[('feed', n, variant)], bound)


def summarize_targets(results: Dict[str, Any]) -> Dict[str, Any]:
    """Whether each target of the issue is met (None: not measured)."""
    runs = results['runs']

    def per_n(get: Callable[[Dict], Any]) -> Dict[str, Any]:
        return {str(run['n']): get(run) for run in runs}

    def at_most(value: Optional[float], limit: float) -> Optional[bool]:
        return None if value is None else value <= limit

    one = [run for run in runs if run['n'] == 1]
    batched = [
        run['options'][v]['teacher_phase_speedup'] for run in runs
        if run['n'] == 3 for v in run['options']
        if 'batched' in v.split('+') and 'skipped' not in run['options'][v]
    ]
    return dict(
        feed_over_floor_full_le_1_05=per_n(
            lambda r: at_most(r['feed_over_floor_full'], FLOOR_TARGET)),
        feed_over_floor_backbone_le_1_05=per_n(
            lambda r: at_most(r['feed_over_floor_backbone'], FLOOR_TARGET)),
        feed_minus_translators_over_floor_full_le_1_05=per_n(
            lambda r: at_most(r['feed_minus_translators_over_floor_full'],
                              FLOOR_TARGET)),
        feed_n1_over_mmrazor_ft_le_1_0=at_most(
            one[0]['feed_over_mmrazor_ft'], MMRAZOR_TARGET) if one else None,
        feed_memory_within_bound=per_n(
            lambda r: r['memory']['feed']['within_bound']
            if r['memory'] else None),
        best_batched_teacher_phase_speedup_n3=max(batched)
        if batched else None,
        batched_teacher_phase_speedup_n3_ge_1_5=max(batched) >=
        BATCHED_TARGET if batched else None)


# ----------------------------------------------------------------------
# Report
def _fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return '—'
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if isinstance(value, float):
        return f'{value:.{digits}f}'
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(_fmt(v) for v in row) + ' |' for row in rows]
    return '\n'.join(lines)


def format_report(results: Dict[str, Any]) -> str:
    """The results as Markdown tables."""
    meta = results['meta']
    models = meta.get('models') or {}
    parts = [
        f"FEED benchmark: preset {meta['preset']}, {meta['device']} "
        f"({meta['machine']['device_name']}), batch {meta['batch_size']}, "
        f"input {tuple(meta['input_shape'])}, median of {meta['repeats']} "
        f"after {meta['warmup']} warm-up, {meta['machine']['torch_threads']} "
        f"threads, {meta['date']}",
        f"student {models.get('student', 'a model dict')}, teachers "
        f"{models.get('teacher', 'a model dict')}",
        '',
        _table(['teacher', 'full forward (ms)', 'backbone forward (ms)',
                'early-stop saving (ms)', 'saving (%)'],
               [[name, t['full_forward_ms'], t['backbone_forward_ms'],
                 t['early_stop_saving_ms'],
                 100 * t['early_stop_saving_ratio']]
                for name, t in results['teachers'].items()]),
        '',
        _table(['N', 'student step (ms)', 'floor full (ms)',
                'floor backbone (ms)', 'FEED step (ms)', 'FEED/floor full',
                'FEED/floor backbone', '(FEED - translators)/floor full',
                'teacher phase (ms)', 'translators share (%)',
                'MMRazor FT (ms)', 'FEED/MMRazor'],
               [[r['n'], results['student']['step_ms'], r['floor_full_ms'],
                 r['floor_backbone_ms'], r['feed_step_ms'],
                 r['feed_over_floor_full'], r['feed_over_floor_backbone'],
                 r['feed_minus_translators_over_floor_full'],
                 r['teacher_phase_ms'], 100 * r['translators_share'],
                 r['mmrazor_ft_step_ms'], r['feed_over_mmrazor_ft']]
                for r in results['runs']]),
    ]
    option_rows = [[
        r['n'], variant, o['teacher_phase_ms'], o['teacher_phase_speedup'],
        o['feed_step_ms'], o['feed_step_speedup'], o['feed_over_floor_full'],
        _fmt((o.get('memory') or {}).get('peak_mib'), 1)
    ] for r in results['runs'] for variant, o in r['options'].items()
                   if 'skipped' not in o]
    if option_rows:
        parts += ['', _table(['N', 'option', 'teacher phase (ms)',
                              'phase speedup', 'FEED step (ms)',
                              'step speedup', 'FEED/floor full',
                              'peak memory (MiB)'], option_rows)]
    if results['student']['memory'] is not None:
        mem_rows = [['student step', results['student']['memory'], None]]
        mem_rows += [[f'teacher {k.replace("_", " ")}', v, None]
                     for k, v in results['teacher_memory'].items()]
        for r in results['runs']:
            mem_rows.append([f"FEED N={r['n']}", r['memory']['feed'],
                             r['memory']['bound_mib']])
            if r['memory']['mmrazor_ft'] is not None:
                mem_rows.append(['MMRazor FT', r['memory']['mmrazor_ft'],
                                 None])
        parts += ['', _table(
            ['case', 'base (MiB)', 'after build (MiB)', 'peak (MiB)',
             'increase (MiB)', 'bound (MiB)', 'within bound'],
            [[label, _fmt(m['base_mib'], 1), _fmt(m['after_build_mib'], 1),
              _fmt(m['peak_mib'], 1), _fmt(m['increase_mib'], 1),
              _fmt(bound, 1),
              m.get('within_bound')] for label, m, bound in mem_rows])]
    parts += ['', _table(['target', 'value'], [[
        name, ', '.join(f'N={n}: {_fmt(v)}' for n, v in value.items())
        if isinstance(value, dict) else value
    ] for name, value in results['targets'].items()])]
    return '\n'.join(parts)
