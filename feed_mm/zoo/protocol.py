"""Benchmark protocols of the zoo: which teachers to train, which settings
to run over which seeds, read from a config file's ``protocol`` field
(``configs/zoo/*.py``).

A protocol names its runs by config file; a setting's teachers are
references to runs of the same protocol, ``'teacher:K'`` (the K-th teacher
config, counted over all teacher groups) or ``'run:SETTING'`` (the same
seed's run of an earlier setting, as sequential FEED needs), put into the
FEED config's ``model.teachers`` in order.

Teachers come in one group (``teachers=dict(label=..., configs=[...])``) or
several, each reported with its own row and ensemble
(``teachers=dict(groups=[dict(label=..., configs=[...]), ...])``). With
``teachers.weights`` (a folder), a teacher whose weights-only checkpoint
``<weights>/<config name>.pth`` is there is evaluated, not trained, and a
trained teacher's weights are written there: the files a protocol's results
were measured with can be committed beside them and reused anywhere.
"""
import os.path as osp
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Any, Dict, List, Mapping, Optional, Tuple

from mmengine.config import Config

from feed_mm.utils import FEEDConfigError, resolve_config

PROTOCOL_KEYS = ('title', 'metric', 'seeds', 'seed_base', 'teachers',
                 'settings', 'baselines', 'cfg_options', 'student_cfg_options',
                 'student_epochs', 'notes', 'n_curve')
TEACHER_KEYS = ('label', 'configs', 'groups', 'weights', 'epochs',
                'cfg_options')
GROUP_KEYS = ('label', 'configs')
SETTING_KEYS = ('name', 'label', 'config', 'teachers', 'seeds',
                'seed_offset', 'cfg_options', 'pool')


@dataclass
class TeacherGroup:
    """Teachers reported together: one row of each, and their ensemble."""

    label: str
    configs: Tuple[str, ...]


@dataclass
class Setting:
    """One row of a protocol's table: a config run once per seed."""

    name: str
    label: str
    config: str
    teachers: Tuple[str, ...] = ()
    seeds: Optional[int] = None  # None: the protocol's seeds
    seed_offset: int = 0
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    # Settings of one pool are one method over other teacher groups; the
    # report pools them seed by seed.
    pool: Optional[str] = None


@dataclass
class Protocol:
    """A zoo protocol (see :func:`load_protocol`)."""

    name: str
    title: str
    metric: str
    seeds: int
    seed_base: int
    teacher_groups: Tuple[TeacherGroup, ...]
    teacher_cfg_options: Dict[str, Any]
    settings: List[Setting]
    baselines: Tuple[str, ...]
    cfg_options: Dict[str, Any]
    student_cfg_options: Dict[str, Any]
    # Epochs of the teachers' / the settings' runs, their schedules
    # stretched to match (None: as their config files say).
    teacher_epochs: Optional[int] = None
    student_epochs: Optional[int] = None
    notes: str = ''
    # Folder of the teachers' weights-only checkpoints (None: train them).
    teacher_weights: Optional[str] = None
    # Per curve (label), the settings of N = 0, 1, ... teachers (None: not
    # run), plotted against N.
    n_curve: Dict[str, Tuple[Optional[str], ...]] = field(
        default_factory=dict)

    @property
    def teacher_configs(self) -> Tuple[str, ...]:
        """Every teacher config, ``'teacher:K'`` indexing this tuple."""
        return tuple(c for group in self.teacher_groups
                     for c in group.configs)

    @property
    def teacher_indices(self) -> Tuple[range, ...]:
        """Per teacher group, the indices of its teachers in
        :attr:`teacher_configs`."""
        ends = list(accumulate(len(g.configs) for g in self.teacher_groups))
        return tuple(range(end - len(g.configs), end)
                     for g, end in zip(self.teacher_groups, ends))

    def setting(self, name: str) -> Setting:
        return next(s for s in self.settings if s.name == name)


def _dict(value: Any, key: str) -> Dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise FEEDConfigError(key, f'must be a dict, got {value!r}')
    return dict(value)


def _unknown(spec: Mapping, allowed: Tuple[str, ...], key: str) -> None:
    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise FEEDConfigError(f'{key}.{unknown[0]}',
                              f'unknown key (allowed: {", ".join(allowed)})')


def _int(value: Any, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) \
            or value < minimum:
        raise FEEDConfigError(key, f'must be an int >= {minimum}, got '
                              f'{value!r}')
    return value


def _optional_int(value: Any, key: str) -> Optional[int]:
    return None if value is None else _int(value, key, 1)


def _config_path(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.endswith('.py'):
        raise FEEDConfigError(key, f'must be a config file path, got '
                              f'{value!r}')
    return value


def _setting_names(value: Any, names: List[str],
                   key: str) -> Tuple[str, ...]:
    """A list of setting names (``baselines``, ``n_curve``), each checked."""
    if not isinstance(value, (list, tuple)):
        raise FEEDConfigError(key, f'must be a list of setting names, got '
                              f'{value!r}')
    for i, name in enumerate(value):
        if name not in names:
            raise FEEDConfigError(f'{key}[{i}]', f'{name!r} is not a setting '
                                  f'({", ".join(names)})')
    return tuple(value)


def _n_curves(value: Any, names: List[str],
              key: str) -> Dict[str, Tuple[Optional[str], ...]]:
    """The curves of ``n_curve``: a list of setting names for N = 0, 1,
    ... (one curve), or ``label -> list`` (a curve each), None where a
    curve has no setting for that N."""
    curves = value if isinstance(value, Mapping) else {'': value}
    parsed = {}
    for label, settings in curves.items():
        curve_key = f'{key}.{label}' if label else key
        if not isinstance(settings, (list, tuple)):
            raise FEEDConfigError(curve_key, f'must be a list of setting '
                                  f'names, got {settings!r}')
        for i, name in enumerate(settings):
            if name is not None and name not in names:
                raise FEEDConfigError(f'{curve_key}[{i}]', f'{name!r} is not '
                                      f'a setting ({", ".join(names)})')
        parsed[str(label)] = tuple(settings)
    return parsed


def _optional_name(value: Any, key: str) -> Optional[str]:
    if value is not None and (not isinstance(value, str) or not value):
        raise FEEDConfigError(key, f'must be a non-empty string, got '
                              f'{value!r}')
    return value


def _teacher_groups(teachers: Mapping, key: str) -> Tuple[TeacherGroup, ...]:
    """The teacher groups of ``protocol.teachers``: its ``groups``, or one
    group of its own ``label`` and ``configs``."""
    if 'groups' in teachers:
        for single in ('label', 'configs'):
            if single in teachers:
                raise FEEDConfigError(
                    f'{key}.{single}', 'goes into each of teachers.groups')
        raw_groups = teachers['groups']
        if not isinstance(raw_groups, (list, tuple)) or not raw_groups:
            raise FEEDConfigError(f'{key}.groups', 'must be a non-empty '
                                  f'list of groups, got {raw_groups!r}')
        raw_groups = [(_dict(g, f'{key}.groups[{i}]'), f'{key}.groups[{i}]')
                      for i, g in enumerate(raw_groups)]
    else:
        raw_groups = [(dict(label=teachers.get('label', 'teacher'),
                            configs=teachers.get('configs')), key)]
    groups = []
    for group, gkey in raw_groups:
        _unknown(group, GROUP_KEYS, gkey)
        configs = group.get('configs')
        if not isinstance(configs, (list, tuple)):
            raise FEEDConfigError(f'{gkey}.configs',
                                  f'must be a list of config files, got '
                                  f'{configs!r}')
        groups.append(TeacherGroup(
            label=str(group.get('label', 'teacher')),
            configs=tuple(_config_path(c, f'{gkey}.configs[{i}]')
                          for i, c in enumerate(configs))))
    return tuple(groups)


def _parse_teacher_ref(ref: Any, key: str, num_teachers: int,
                       earlier: Mapping[str, Setting],
                       seeds: Optional[int]) -> str:
    kind, _, target = ref.partition(':') if isinstance(ref, str) else ('',
                                                                       '', '')
    if kind == 'teacher' and target.isdigit() and int(target) < num_teachers:
        return ref
    if kind == 'run' and target in earlier:
        target_seeds = earlier[target].seeds
        if target_seeds is not None and (seeds is None
                                         or seeds > target_seeds):
            raise FEEDConfigError(
                key, f'{ref!r} runs {target_seeds} seed(s), fewer than this '
                'setting: give this setting `seeds` <= ' f'{target_seeds}')
        return ref
    raise FEEDConfigError(
        key, f"{ref!r} is not a teacher reference: 'teacher:K' with K in "
        f"0..{num_teachers - 1}, or 'run:SETTING' of an earlier setting "
        f'({", ".join(earlier) or "none yet"})')


def parse_protocol(spec: Mapping, name: str) -> Protocol:
    """Check a ``protocol`` dict and return it parsed.

    Raises:
        FEEDConfigError: Naming the offending key (``protocol.settings[2]
            .teachers[0]``, ...).
    """
    key = 'protocol'
    spec = _dict(spec, key)
    _unknown(spec, PROTOCOL_KEYS, key)
    for required in ('teachers', 'settings'):
        if required not in spec:
            raise FEEDConfigError(f'{key}.{required}', 'is required')
    teachers = _dict(spec['teachers'], f'{key}.teachers')
    _unknown(teachers, TEACHER_KEYS, f'{key}.teachers')
    groups = _teacher_groups(teachers, f'{key}.teachers')
    configs = tuple(c for group in groups for c in group.configs)
    raw_settings = spec['settings']
    if not isinstance(raw_settings, (list, tuple)) or not raw_settings:
        raise FEEDConfigError(f'{key}.settings',
                              'must be a non-empty list of settings')
    settings: List[Setting] = []
    for i, raw in enumerate(raw_settings):
        skey = f'{key}.settings[{i}]'
        raw = _dict(raw, skey)
        _unknown(raw, SETTING_KEYS, skey)
        setting_name = raw.get('name')
        if not isinstance(setting_name, str) or not setting_name \
                or not setting_name.replace('_', '').isalnum():
            raise FEEDConfigError(
                f'{skey}.name', 'must be a name of letters, digits and _, '
                f'got {setting_name!r}')
        earlier = {s.name: s for s in settings}
        if setting_name in earlier:
            raise FEEDConfigError(f'{skey}.name',
                                  f'{setting_name!r} is used twice')
        refs = raw.get('teachers') or ()
        if not isinstance(refs, (list, tuple)):
            raise FEEDConfigError(f'{skey}.teachers',
                                  f'must be a list, got {refs!r}')
        seeds = _optional_int(raw.get('seeds'), f'{skey}.seeds')
        settings.append(
            Setting(
                name=setting_name,
                label=str(raw.get('label', setting_name)),
                config=_config_path(raw.get('config'), f'{skey}.config'),
                teachers=tuple(
                    _parse_teacher_ref(ref, f'{skey}.teachers[{j}]',
                                       len(configs), earlier, seeds)
                    for j, ref in enumerate(refs)),
                seeds=seeds,
                seed_offset=_int(
                    raw.get('seed_offset', 0), f'{skey}.seed_offset', 0),
                cfg_options=_dict(raw.get('cfg_options'),
                                  f'{skey}.cfg_options'),
                pool=_optional_name(raw.get('pool'), f'{skey}.pool')))
    names = [s.name for s in settings]
    baselines = _setting_names(spec.get('baselines') or (), names,
                               f'{key}.baselines')
    n_curve = _n_curves(spec.get('n_curve') or (), names, f'{key}.n_curve')
    metric = spec.get('metric', 'accuracy/top1')
    if not isinstance(metric, str):
        raise FEEDConfigError(f'{key}.metric', f'must be a metric name, got '
                              f'{metric!r}')
    return Protocol(
        name=name,
        title=str(spec.get('title', name)),
        metric=metric,
        seeds=_int(spec.get('seeds', 1), f'{key}.seeds', 1),
        seed_base=_int(spec.get('seed_base', 0), f'{key}.seed_base', 0),
        teacher_groups=groups,
        teacher_weights=_optional_name(teachers.get('weights'),
                                       f'{key}.teachers.weights'),
        n_curve=n_curve,
        teacher_cfg_options=_dict(teachers.get('cfg_options'),
                                  f'{key}.teachers.cfg_options'),
        settings=settings,
        baselines=baselines,
        cfg_options=_dict(spec.get('cfg_options'), f'{key}.cfg_options'),
        student_cfg_options=_dict(spec.get('student_cfg_options'),
                                  f'{key}.student_cfg_options'),
        teacher_epochs=_optional_int(teachers.get('epochs'),
                                     f'{key}.teachers.epochs'),
        student_epochs=_optional_int(spec.get('student_epochs'),
                                     f'{key}.student_epochs'),
        notes=str(spec.get('notes', '')))


def load_protocol(path: str) -> Protocol:
    """Read the ``protocol`` field of a zoo config file (from any working
    directory: see :func:`feed_mm.utils.resolve_config`)."""
    cfg = Config.fromfile(resolve_config(path))
    if 'protocol' not in cfg:
        raise FEEDConfigError(
            'protocol', f'{path} has no `protocol` field: a zoo config '
            'defines protocol = dict(teachers=..., settings=[...])')
    return parse_protocol(
        cfg.protocol.to_dict() if hasattr(cfg.protocol, 'to_dict') else
        cfg.protocol, osp.splitext(osp.basename(path))[0])
