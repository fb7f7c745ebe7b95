"""The benchmark's setting: presets, FEED option variants, the checks of
the command-line arguments and the :class:`Setting` of a run."""
import os.path as osp
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from mmengine.config import Config

RECIPE = 'configs/feed/_base_/feed_recipe.py'


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

# Option tokens of a FEED variant ('compiled+fast') -> FEEDDistill argument.
OPTION_ARGS = {
    'bf16': ('teacher_autocast', 'bf16'),
    'fp16': ('teacher_autocast', 'fp16'),
    'fast': ('teacher_autocast', 'auto'),
    'channels_last': ('channels_last', True),
    'compiled': ('compile', True),
}
DEFAULT_OPTIONS = {
    'cpu': ['bf16', 'channels_last', 'fast', 'compiled', 'compiled+fast'],
    'cuda': [
        'bf16', 'fp16', 'channels_last', 'bf16+channels_last',
        'fp16+channels_last', 'fast', 'fast+channels_last', 'compiled',
        'compiled+fast+channels_last'
    ],
}


def parse_variant(variant: str) -> Dict[str, Any]:
    """The FEEDDistill arguments of a variant such as ``'compiled+fast'``.

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
