"""The benchmark's verdict on the targets, and its Markdown report."""
from typing import Any, Callable, Dict, Optional, Sequence

# FEED step / floor, FEED(N=1) / MMRazor FT and compiled step speedup of
# the targets (the memory target is MEMORY_SLACK).
FLOOR_TARGET = 1.05
MMRAZOR_TARGET = 1.0
# Compiled FEED step / eager FEED step at N = 3.
COMPILED_TARGET = 0.85


def summarize_targets(results: Dict[str, Any]) -> Dict[str, Any]:
    """Whether each target of the issue is met (None: not measured)."""
    runs = results['runs']

    def per_n(get: Callable[[Dict], Any]) -> Dict[str, Any]:
        return {str(run['n']): get(run) for run in runs}

    def at_most(value: Optional[float], limit: float) -> Optional[bool]:
        return None if value is None else value <= limit

    one = [run for run in runs if run['n'] == 1]
    compiled = {
        str(run['n']): {v: o for v, o in run['options'].items()
                        if 'compiled' in v.split('+') and 'skipped' not in o}
        for run in runs
    }
    plain_compiled = [
        1 / run['options']['compiled']['feed_step_speedup'] for run in runs
        if run['n'] == 3 and 'compiled' in run['options']
    ]
    return dict(
        compiled_over_eager_step_n3=plain_compiled[0]
        if plain_compiled else None,
        compiled_over_eager_step_n3_le_0_85=plain_compiled[0] <=
        COMPILED_TARGET if plain_compiled else None,
        compiled_without_recompiles={
            n: all(o['compiles_after_first_step'] == 0
                   for o in variants.values()) if variants else None
            for n, variants in compiled.items()
        },
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
            if r['memory'] else None))


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
                'floor backbone (ms)', 'FEED step (ms)', 'first step (ms)',
                'FEED/floor full',
                'FEED/floor backbone', '(FEED - translators)/floor full',
                'teacher phase (ms)', 'translators share (%)',
                'MMRazor FT (ms)', 'FEED/MMRazor'],
               [[r['n'], results['student']['step_ms'], r['floor_full_ms'],
                 r['floor_backbone_ms'], r['feed_step_ms'],
                 r['first_step_ms'], r['feed_over_floor_full'],
                 r['feed_over_floor_backbone'],
                 r['feed_minus_translators_over_floor_full'],
                 r['teacher_phase_ms'], 100 * r['translators_share'],
                 r['mmrazor_ft_step_ms'], r['feed_over_mmrazor_ft']]
                for r in results['runs']]),
    ]
    option_rows = [[
        r['n'], variant, o['teacher_phase_ms'], o['teacher_phase_speedup'],
        o['plain_step_ms'], o['feed_step_ms'], o['feed_step_speedup'],
        o['feed_over_floor_full'],
        o['first_step_ms'], o['compiles_in_first_step'],
        o['compiles_after_first_step'],
        _fmt((o.get('memory') or {}).get('peak_mib'), 1)
    ] for r in results['runs'] for variant, o in r['options'].items()
                   if 'skipped' not in o]
    if option_rows:
        parts += ['', _table(['N', 'option', 'teacher phase (ms)',
                              'phase speedup', 'plain step (ms)',
                              'FEED step (ms)',
                              'step speedup', 'FEED/floor full',
                              'first step (ms)', 'compiles in first step',
                              'compiles after', 'peak memory (MiB)'],
                             option_rows)]
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
