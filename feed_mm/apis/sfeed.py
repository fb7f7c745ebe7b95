"""Sequential FEED: generations of one architecture, each trained by FEED
from the previous generation(s), through the ordinary MMEngine runner."""
import copy
import os
import os.path as osp
from typing import Any, Dict, List, Optional

from mmengine.config import Config

from feed_mm.engine.teacher_provenance import (TeacherMismatchError,
                                               teacher_differences,
                                               teacher_fingerprints)
from feed_mm.utils import FEEDConfigError
from .console import RunConsole
from .training import read_json, train_and_evaluate, write_json

RESULT_FILE = 'sfeed_result.json'
TABLE_FILE = 'sfeed_results'


def generation_dir(work_dir: str, generation: int) -> str:
    return osp.join(work_dir, f'gen_{generation}')


def _read_result(work_dir: str, generation: int) -> Optional[Dict]:
    return read_json(osp.join(generation_dir(work_dir, generation),
                              RESULT_FILE))


def _teacher_dirs(work_dir: str, generation: int,
                  lineage: bool) -> Dict[str, str]:
    """``gen<k> -> work dir`` of the teachers of ``generation`` (>= 1)."""
    teachers = range(generation) if lineage else [generation - 1]
    return {f'gen{k}': generation_dir(work_dir, k) for k in teachers}


def _generation_cfg(cfg: Config, generation: int, work_dir: str,
                    lineage: bool, warm_start: bool,
                    resume: bool) -> Config:
    """The config of one generation: plain training of the student for
    generation 0, FEED from the earlier generation(s) afterwards."""
    gen_cfg = copy.deepcopy(cfg)
    gen_cfg.pop('sfeed', None)
    student = copy.deepcopy(cfg.model.architecture)
    gen_dir = generation_dir(work_dir, generation)
    gen_cfg.work_dir = gen_dir
    # MMEngine appends the start time, which keeps log names unique.
    gen_cfg.experiment_name = f'sfeed_gen{generation}'
    seed = (cfg.get('randomness') or {}).get('seed')
    if seed is not None:
        # A fresh, different initialisation for every generation.
        gen_cfg.randomness = dict(cfg.randomness, seed=seed + generation)
    if generation == 0:
        gen_cfg.model = student
        gen_cfg.default_scope = 'mmpretrain'
        gen_cfg.val_cfg = dict()
        gen_cfg.test_cfg = dict()
    else:
        gen_cfg.model.teachers = {
            name: dict(model=copy.deepcopy(student), ckpt=directory)
            for name, directory in _teacher_dirs(work_dir, generation,
                                                 lineage).items()
        }
        if warm_start:
            previous = generation_dir(work_dir, generation - 1)
            with open(osp.join(previous, 'last_checkpoint')) as f:
                checkpoint = f.read().strip()
            gen_cfg.model.architecture.init_cfg = dict(
                type='Pretrained',
                checkpoint=checkpoint,
                prefix='architecture.' if generation > 1 else None)
    has_checkpoint = osp.isfile(osp.join(gen_dir, 'last_checkpoint'))
    if has_checkpoint and not resume:
        raise FEEDConfigError(
            '--resume', f'{gen_dir} holds an unfinished run of generation '
            f'{generation}; pass --resume to continue it, or remove the '
            'folder to start this generation again')
    gen_cfg.resume = has_checkpoint
    gen_cfg.load_from = None
    return gen_cfg


def _train_generation(gen_cfg: Config, generation: int, metric: str,
                      lineage: bool, console: RunConsole) -> Dict[str, Any]:
    try:
        run = train_and_evaluate(gen_cfg, f'gen{generation}', console,
                                 metric=metric, test=False)
    except TeacherMismatchError as err:
        raise TeacherMismatchError(
            err.key, f'sFEED generation {generation} in {gen_cfg.work_dir} '
            'was started from another checkpoint of its teacher '
            'generation(s) than the one there now, and would go on from '
            f'a mix of both: {err.message} Or remove {gen_cfg.work_dir} to '
            f'train generation {generation} again from the current '
            'one(s).') from None
    except FEEDConfigError as err:
        if err.key == 'metric':  # the key a user of sFEED sets
            raise FEEDConfigError('sfeed.metric', err.message) from None
        raise
    metrics = run['val_metrics']
    teachers = list(gen_cfg.model.get('teachers', {})) if generation else []
    teacher_scores = [
        metrics.get(f'teacher.{name}.{metric}') for name in teachers
    ]
    result = dict(
        generation=generation,
        teachers=teachers,
        student=float(metrics[metric]),
        teacher=(float(teacher_scores[-1])
                 if teacher_scores and teacher_scores[-1] is not None else
                 None),
        lineage=lineage,
        metric=metric,
        teacher_fingerprints=run['teacher_fingerprints'],
    )
    if result['teacher'] is not None:
        result['gain'] = result['student'] - result['teacher']
    write_json(osp.join(gen_cfg.work_dir, RESULT_FILE), result)
    return result


def _changed_teachers(result: Dict[str, Any], work_dir: str,
                      lineage: bool) -> Dict[str, str]:
    """The teachers of a finished generation whose checkpoints changed
    since it was trained (``name -> what differs``); empty for generation
    0 and for results written before teachers were recorded."""
    recorded = result.get('teacher_fingerprints')
    if not result['generation'] or recorded is None:
        return {}
    current = teacher_fingerprints(_teacher_dirs(
        work_dir, result['generation'], result.get('lineage', lineage)))
    return teacher_differences(recorded, current)


def format_table(results: List[Dict[str, Any]]) -> str:
    """A Markdown table: generation, teacher(s), student and teacher
    scores and their difference; a teacher that changed after its
    generation was trained is marked."""
    metric = results[0]['metric'] if results else 'accuracy/top1'
    lines = [
        f'| generation | teacher | student {metric} | teacher {metric} | '
        'difference |', '|---|---|---|---|---|'
    ]
    for r in results:
        changed = r.get('teachers_changed', ())
        teacher = ', '.join(
            f'{name} (changed since)' if name in changed else name
            for name in r['teachers']) or '—'
        t_score = '—' if r['teacher'] is None else f'{r["teacher"]:.2f}'
        gain = '—' if r.get('gain') is None else f'{r["gain"]:+.2f}'
        lines.append(f'| {r["generation"]} | {teacher} | '
                     f'{r["student"]:.2f} | {t_score} | {gain} |')
    return '\n'.join(lines)


def run_sfeed(cfg: Config,
              generations: int,
              work_dir: str,
              resume: bool = False,
              lineage: bool = False,
              warm_start: bool = False,
              metric: str = 'accuracy/top1',
              console: Optional[RunConsole] = None) -> List[Dict[str, Any]]:
    """Train ``generations`` generations of the student of a FEED config.

    Generation 0 trains the student alone; generation k >= 1 trains a
    freshly initialised student (or one warm-started from generation k-1)
    with FEED from generation k-1 as its single teacher, or from all earlier
    generations with ``lineage=True``. Each generation lives in
    ``work_dir/gen_k``; a finished one (with ``sfeed_result.json``) is never
    retrained, an interrupted one continues with ``resume=True``. Each
    generation's result records its teachers' fingerprints: a finished
    generation whose teacher checkpoint changed since is reported (and
    marked in the table as ``teachers_changed``), and an interrupted one
    refuses to resume from a changed teacher (``TeacherMismatchError``).

    Args:
        cfg (Config): A FEED config (``model.type='FEEDDistill'``); its
            teachers are replaced by the earlier generations.
        generations (int): Number of generations, generation 0 included.
        work_dir (str): Root folder of the generations.
        resume (bool): Continue an interrupted generation.
        lineage (bool): Distil generation k from all earlier generations.
        warm_start (bool): Initialise generation k's student from k-1.
        metric (str): Validation metric of the table.
        console (RunConsole, optional): Progress display; None prints
            MMEngine's log.

    Returns:
        list[dict]: One result per generation.
    """
    if cfg.model.get('type') != 'FEEDDistill':
        raise FEEDConfigError(
            'model.type', 'sequential FEED needs a FEEDDistill config, got '
            f'{cfg.model.get("type")!r}')
    if not isinstance(generations, int) or generations < 1:
        raise FEEDConfigError(
            'sfeed.generations', f'must be an int >= 1, got {generations!r}')
    console = console or RunConsole(verbose=True)
    os.makedirs(work_dir, exist_ok=True)
    results: List[Dict[str, Any]] = []
    for generation in range(generations):
        result = _read_result(work_dir, generation)
        if result is not None:
            console.print(f'sFEED: generation {generation} is finished '
                          f'({result["student"]:.2f}), not retrained.')
            changed = _changed_teachers(result, work_dir, lineage)
            if changed:
                result = dict(result, teachers_changed=list(changed))
                console.print(
                    f'sFEED: warning: generation {generation} was trained '
                    'from other teacher checkpoints than there are now ('
                    + '; '.join(f'{name}: {text}'
                                for name, text in changed.items())
                    + '); its result is kept as measured. Remove '
                    f'{generation_dir(work_dir, generation)} to train it '
                    'again from the current one(s).')
        else:
            gen_cfg = _generation_cfg(cfg, generation, work_dir, lineage,
                                      warm_start, resume)
            result = _train_generation(gen_cfg, generation, metric, lineage,
                                       console)
            console.print(f'sFEED: generation {generation}: '
                          f'{result["student"]:.2f}')
        results.append(result)
        table = format_table(results)
        write_json(osp.join(work_dir, f'{TABLE_FILE}.json'), results)
        with open(osp.join(work_dir, f'{TABLE_FILE}.md'), 'w') as f:
            f.write(table + '\n')
    console.print(format_table(results))
    console.print(f'Wrote {osp.join(work_dir, TABLE_FILE)}.{{md,json}}; '
                  f'logs and checkpoints in {work_dir}/gen_<k>/')
    return results


def run_sfeed_config(cfg: Config,
                     resume: bool = False,
                     generations: Optional[int] = None,
                     lineage: bool = False,
                     warm_start: bool = False,
                     console: Optional[RunConsole] = None
                     ) -> List[Dict[str, Any]]:
    """:func:`run_sfeed` with the config's ``sfeed`` field
    (``dict(generations=3, lineage=False, warm_start=False,
    metric='accuracy/top1')``) as defaults under the given options, in
    ``cfg.work_dir``."""
    options = dict(cfg.get('sfeed') or {})
    return run_sfeed(
        cfg,
        generations=generations or options.get('generations', 3),
        work_dir=cfg.work_dir,
        resume=resume,
        lineage=lineage or options.get('lineage', False),
        warm_start=warm_start or options.get('warm_start', False),
        metric=options.get('metric', 'accuracy/top1'),
        console=console)
