"""The command line of the zoo's tools: ``tools/zoo.py`` runs any protocol,
``tools/demo.py`` the digits demo protocol with the same flags."""
import argparse
import dataclasses
import os
import os.path as osp
from typing import List, Optional, Sequence

from feed_mm.apis.cli import add_common_args
from feed_mm.apis.console import RunConsole
from .protocol import Protocol, load_protocol
from .runner import format_listing, plan_runs, run_protocol

NUM_PER_CLASS_KEY = 'train_dataloader.dataset.num_per_class'


def build_parser(description: str,
                 protocol: Optional[str] = None,
                 work_dir: Optional[str] = None) -> argparse.ArgumentParser:
    """The zoo's flags; ``protocol`` given, the tool runs that protocol and
    takes no positional argument."""
    parser = argparse.ArgumentParser(
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    if protocol is None:
        parser.add_argument('protocol',
                            help='a zoo config (configs/zoo/*.py)')
    else:
        parser.set_defaults(protocol=protocol)
    parser.add_argument(
        '--work-dir', default=work_dir,
        help='root of the runs (default: ' +
        (work_dir or 'work_dirs/zoo/<protocol name>') + ')')
    parser.add_argument('--seeds', type=_positive,
                        help="number of student seeds (default: the "
                        "protocol's)")
    parser.add_argument('--only', nargs='+', metavar='SETTING',
                        help='run only these settings (and the runs they '
                        'learn from)')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--teacher-epochs', type=_positive,
                        help="the teachers' epochs (their schedule "
                        'stretched to match)')
    parser.add_argument('--student-epochs', type=_positive,
                        help="the students' epochs (their schedule "
                        'stretched to match)')
    parser.add_argument('--num-per-class', type=_positive,
                        help="the students' training images per class")
    parser.add_argument('--jobs', type=_positive, default=1,
                        help='runs at once: worker processes that share the '
                        'CPU cores, or one GPU each with --device cuda '
                        '(default: 1, in this process)')
    parser.add_argument('--threads', type=_positive,
                        help="torch's CPU threads per run (default: torch's "
                        'own with one job, the cores divided among the '
                        'jobs with several); a run\'s numbers depend on it')
    parser.add_argument('--import-results', metavar='JSON',
                        help="a results file of this protocol (e.g. the "
                        "committed one): its student runs count as "
                        'finished, the others run')
    parser.add_argument('--list', action='store_true',
                        help='list the runs and their status, train nothing')
    parser.add_argument('--verbose', action='store_true',
                        help="MMEngine's full log on the console")
    # --cfg-options apply to every run's config.
    add_common_args(parser, launcher=False)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f'must be >= 1, got {value}')
    return value


def protocol_from_args(args: argparse.Namespace) -> Protocol:
    """The protocol file of ``args`` with the command line's overrides."""
    protocol = load_protocol(args.protocol)
    student_options = dict(protocol.student_cfg_options)
    if args.num_per_class is not None:
        student_options[NUM_PER_CLASS_KEY] = args.num_per_class
    return dataclasses.replace(
        protocol,
        teacher_epochs=args.teacher_epochs or protocol.teacher_epochs,
        student_epochs=args.student_epochs or protocol.student_epochs,
        student_cfg_options=student_options)


def main(argv: Optional[Sequence[str]] = None, **parser_kwargs) -> None:
    """Parse ``argv`` and list or run the protocol (see
    :func:`build_parser` for ``parser_kwargs``)."""
    args = build_parser(**parser_kwargs).parse_args(argv)
    devices = []
    if args.device == 'cpu':
        # MMEngine puts the model on a GPU whenever it sees one.
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    else:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit(
                'error: --device cuda but no CUDA device is visible')
        if args.jobs > 1:
            devices = visible_devices(torch.cuda.device_count())
    protocol = protocol_from_args(args)
    work_dir = args.work_dir or osp.join('work_dirs', 'zoo', protocol.name)
    if args.list:
        runs = plan_runs(protocol, work_dir, args.seeds, args.only)
        print(f'{protocol.title}: {len(runs)} runs in {work_dir}\n')
        print(format_listing(runs))
        return
    run_protocol(
        protocol,
        work_dir,
        console=RunConsole(verbose=args.verbose),
        seeds=args.seeds,
        only=args.only,
        cfg_options=args.cfg_options,
        jobs=args.jobs,
        threads=args.threads,
        devices=devices,
        imported=args.import_results)


def visible_devices(count: int) -> List[str]:
    """The CUDA devices this process sees, as ``CUDA_VISIBLE_DEVICES``
    names them for a child process."""
    visible = os.environ.get('CUDA_VISIBLE_DEVICES')
    if visible:
        return [d.strip() for d in visible.split(',')][:count]
    return [str(i) for i in range(count)]
