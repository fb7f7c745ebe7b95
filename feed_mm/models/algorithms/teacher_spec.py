"""FEED's teachers as configured (:class:`TeacherSpec`, plain data), and
the building of each teacher and student: model, checkpoint, freezing."""
import copy
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModel
from mmrazor.registry import MODELS

from feed_mm.utils import FEEDConfigError
from feed_mm.utils.weights import load_weights, zoo_model

TEACHER_OPTION_KEYS = ('model', 'ckpt', 'feature', 'loss_weight', 'translator',
                       'feed_loss')
# A teacher's name becomes a module path and a loss key.
_TEACHER_NAME = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
ModelSpec = Union[str, Dict, nn.Module]


@dataclass
class TeacherSpec:
    """One teacher of FEED, as configured: its ``name`` (``t0``, ``t1``,
    ... for a list), ``model`` (as :func:`build_model` takes it), ``ckpt``
    (file, work dir or URL; None: random), and the options that override
    the distiller's for it: ``feature``, ``loss_weight`` (``w_n``),
    ``translator`` and ``feed_loss`` overrides."""
    name: str
    model: ModelSpec
    ckpt: Optional[str] = None
    feature: Optional[Union[str, Dict]] = None
    loss_weight: Any = 1.0
    translator: Optional[Dict] = None
    feed_loss: Optional[Dict] = None

    @property
    def key(self) -> str:
        """The config key of this teacher, for error messages."""
        return f'model.teachers.{self.name}'


def parse_teachers(teachers: Any, allow_random: bool = False
                   ) -> 'OrderedDict[str, TeacherSpec]':
    """The ``teachers`` argument (a dict ``name -> dict(model=...,
    ckpt=..., **options)`` or ``name -> model name``, or a list of those
    values, named ``t0``, ``t1``, ...) as ordered ``name -> TeacherSpec``;
    ``ckpt`` defaults to a zoo model's released weights, ``ckpt=None`` (a
    random teacher) needs ``allow_random``."""
    key = 'model.teachers'
    if isinstance(teachers, (list, tuple)):
        teachers = OrderedDict(
            (f't{i}', spec) for i, spec in enumerate(teachers))
    if not isinstance(teachers, Mapping):
        raise FEEDConfigError(
            key, 'must be a dict of teacher name -> dict(model=..., '
            f'ckpt=...) or a list of those, got {type(teachers).__name__}')
    if not teachers:
        raise FEEDConfigError(key, 'FEED needs at least one teacher')
    specs: 'OrderedDict[str, TeacherSpec]' = OrderedDict()
    for name, options in teachers.items():
        t_key = f'{key}.{name}'
        if not isinstance(name, str) or not _TEACHER_NAME.match(name):
            raise FEEDConfigError(
                t_key, 'a teacher name must be an identifier (letters, '
                'digits, underscores), as it names modules and loss terms')
        if isinstance(options, str):  # a model name: its released weights
            options = dict(model=options)
        if not isinstance(options, Mapping):
            raise FEEDConfigError(
                t_key, 'a teacher is dict(model=..., ckpt=...), got '
                f'{type(options).__name__}')
        for option in options:
            if option not in TEACHER_OPTION_KEYS:
                raise FEEDConfigError(
                    f'{t_key}.{option}', 'unknown teacher option (allowed: '
                    f'{", ".join(TEACHER_OPTION_KEYS)})')
        if 'model' not in options:
            raise FEEDConfigError(f'{t_key}.model', 'is required')
        zoo = zoo_model(options['model'], f'{t_key}.model')
        if 'ckpt' not in options and zoo and zoo[1] and (
                zoo[2] or isinstance(options['model'], str)):
            options = dict(options, ckpt=zoo[1])  # the released weights
        # A forgotten checkpoint would train from a random teacher; only an
        # explicit ckpt=None under allow_random_teachers means that.
        if options.get('ckpt') is None and not (allow_random
                                                and 'ckpt' in options):
            raise FEEDConfigError(
                f'{t_key}.ckpt', 'is required (a teacher checkpoint file, '
                'work dir or URL); a randomly initialised teacher, for tests '
                'and benchmarks only, is ckpt=None with '
                'model.allow_random_teachers=True')
        specs[name] = TeacherSpec(name=name, **options)
    return specs


def build_teacher(spec: TeacherSpec) -> BaseModel:
    """The frozen teacher of ``spec``: built, loaded from its checkpoint
    (or left random, with a warning), without gradients."""
    teacher = build_model(spec.model, f'{spec.key}.model',
                          load_pretrained=False)
    # Same reason as MMRazor: inplace ops in a frozen teacher could
    # overwrite a recorded feature map.
    for module in teacher.modules():
        if hasattr(module, 'inplace'):
            module.inplace = False
    if spec.ckpt is not None:
        model = spec.model.get('cfg_path') if isinstance(
            spec.model, Mapping) else spec.model
        load_weights(teacher, spec.ckpt, f'{spec.key}.ckpt',
                     f'teacher {spec.name!r}' + (f' ({model})' if isinstance(
                         model, str) else ''))
    else:
        print_log(
            f'Teacher {spec.name!r} has no checkpoint: it keeps its '
            'random initialisation.', logger='current',
            level=30)
    # Runner.init_weights must not re-initialise loaded teachers.
    teacher._is_init = True
    for param in teacher.parameters():
        param.requires_grad_(False)
    return teacher


def build_model(spec: ModelSpec, key: str,
                load_pretrained: bool = True) -> BaseModel:
    """Build a student or teacher from a model dict, a built model, an
    MMPretrain model name, a ``'package::path/to/config.py'`` config, or
    MMRazor's ``dict(cfg_path=..., pretrained=...)``; with
    ``load_pretrained``, ``pretrained=True`` loads the released weights.

    A model dict whose type is not in MMRazor's registry is built in
    MMPretrain's scope, so mmpretrain model dicts work unprefixed.
    """
    if isinstance(spec, nn.Module):
        model = spec
    else:
        zoo = zoo_model(spec, key)
        if zoo is None and not isinstance(spec, Mapping):
            raise FEEDConfigError(
                key, 'expected a model config dict, a built model, an '
                "MMPretrain model name or a 'package::config.py' path, got "
                f'{type(spec).__name__}')
        cfg = zoo[0] if zoo else copy.deepcopy(dict(spec))
        model_type = cfg.get('type')
        if model_type is None:
            raise FEEDConfigError(key, 'the model config has no type')
        # The nested builds (backbone, head, ...) resolve their types in
        # the default scope; a 'scope.Type' prefix alone does not switch
        # it, so the model is built under its own scope instead.
        if isinstance(model_type, str) and '_scope_' not in cfg:
            scope, _, name = model_type.rpartition('.')
            if scope:
                cfg.update(type=name, _scope_=scope)
            else:
                cfg['_scope_'] = ('mmrazor' if MODELS.get(model_type)
                                  else 'mmpretrain')
        try:
            model = MODELS.build(cfg)
        except FEEDConfigError:
            raise
        except Exception as err:  # the registry wraps all build errors
            raise FEEDConfigError(key, f'cannot build the model: {err}') \
                from err
        if zoo and zoo[2] and load_pretrained:
            if zoo[1] is None:
                raise FEEDConfigError(
                    key, f'pretrained=True, but {spec["cfg_path"]} has no '
                    'released weights in its metafile')
            load_weights(model, zoo[1], key, f'the model {spec["cfg_path"]}')
    if not isinstance(model, BaseModel):
        raise FEEDConfigError(
            key, 'expected an MMEngine BaseModel (e.g. an mmpretrain '
            f'ImageClassifier), got {type(model).__name__}')
    return model
