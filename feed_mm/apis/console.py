"""The console of the tools that train several runs in one process (the
demo, the zoo runner, sequential FEED): one progress display per run on the
console, MMEngine's full log in each run's work dir.

MMEngine prints its environment dump, the config and every logged
iteration to the console; over a dozen runs that buries the results. Here
each run's console output (MMEngine's stream handler, warnings, prints)
goes to a sink while the run builds, trains and evaluates, and a progress
hook draws the run's epoch, loss terms, accuracy and time left instead.
The log file MMEngine writes in ``WORK_DIR/<timestamp>/`` keeps everything.
"""
import contextlib
import sys
import time
from typing import Dict, Iterator, Optional, TextIO

from mmengine.hooks import Hook

LOSS_PREFIXES = ('student.', 'distill.')


class _Sink:
    """A text stream that keeps only the last lines written to it, to show
    them when a run fails."""

    def __init__(self, keep: int = 40) -> None:
        self.keep = keep
        self.lines: list = []
        self._partial = ''

    def write(self, text: str) -> int:
        lines = (self._partial + text).split('\n')
        self._partial = lines.pop()
        self.lines = (self.lines + lines)[-self.keep:]
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def tail(self) -> str:
        return '\n'.join(self.lines + [self._partial]).strip('\n')


def _short_loss_name(key: str) -> str:
    for prefix in LOSS_PREFIXES:
        if key.startswith(prefix):
            key = key[len(prefix):]
    return key[len('loss_'):] if key.startswith('loss_') else key


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (f'{hours}:{minutes:02d}:{secs:02d}'
            if hours else f'{minutes}:{secs:02d}')


class ProgressHook(Hook):
    """Draws one run's progress: epoch, the last iteration's loss terms
    (``loss`` and each ``student.``/``distill.`` term), the last validation
    accuracy, elapsed time and ETA.

    On a terminal the line is redrawn in place (at most every
    ``refresh_s``); elsewhere (CI logs, pipes) a line is printed at each
    quarter of the run, so a long run still shows it is alive.

    Args:
        label (str): The run's name on the console.
        stream (TextIO): Where to draw.
        metric (str): Validation metric shown. Defaults to
            ``'accuracy/top1'``.
        refresh_s (float): Minimum time between redraws on a terminal.
    """

    priority = 'VERY_LOW'

    def __init__(self,
                 label: str,
                 stream: TextIO,
                 metric: str = 'accuracy/top1',
                 refresh_s: float = 0.5) -> None:
        self.label = label
        self.stream = stream
        self.metric = metric
        self.refresh_s = refresh_s
        self.live = bool(getattr(stream, 'isatty', lambda: False)())
        self.losses: Dict[str, float] = {}
        self.accuracy: Optional[float] = None
        self._start = time.perf_counter()
        self._start_iter = 0
        self._drawn = 0.0
        self._quarters_shown = 0
        self._width = 0

    def before_train(self, runner) -> None:
        self._start = time.perf_counter()
        self._start_iter = runner.iter

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[Dict] = None) -> None:
        for key, value in (outputs or {}).items():
            if 'loss' in key:
                # .item() reads a loss that still requires grad, silently.
                self.losses[key] = value.item() if hasattr(
                    value, 'item') else float(value)
        done = runner.iter + 1
        if self.live:
            if time.perf_counter() - self._drawn >= self.refresh_s:
                self._draw(runner, done)
        else:
            quarter = 4 * done // max(1, runner.max_iters)
            if quarter > self._quarters_shown:
                self._quarters_shown = quarter
                self._print(self._line(runner, done))

    def after_val_epoch(self, runner, metrics: Optional[Dict] = None) -> None:
        if metrics and self.metric in metrics:
            self.accuracy = float(metrics[self.metric])

    def after_train(self, runner) -> None:
        if self.live:
            self.clear()

    def clear(self) -> None:
        if self.live and self._width:
            self.stream.write('\r' + ' ' * self._width + '\r')
            self.stream.flush()
            self._width = 0

    def _line(self, runner, done: int) -> str:
        elapsed = time.perf_counter() - self._start
        trained = done - self._start_iter
        left = runner.max_iters - done
        eta = elapsed / trained * left if trained > 0 else 0.0
        epoch = min(runner.epoch + 1, runner.max_epochs) \
            if runner.max_epochs else 0
        parts = [f'{self.label}', f'epoch {epoch}/{runner.max_epochs}']
        if 'loss' in self.losses:
            terms = ', '.join(
                f'{_short_loss_name(k)} {v:.3f}'
                for k, v in self.losses.items() if k != 'loss')
            parts.append(f'loss {self.losses["loss"]:.3f}' +
                         (f' ({terms})' if terms else ''))
        if self.accuracy is not None:
            parts.append(f'val {self.accuracy:.2f}')
        parts.append(f'{format_duration(elapsed)} elapsed, '
                     f'ETA {format_duration(eta)}')
        return '  '.join(parts)

    def _draw(self, runner, done: int) -> None:
        line = self._line(runner, done)
        pad = max(0, self._width - len(line))
        self.stream.write('\r' + line + ' ' * pad)
        self.stream.flush()
        self._width = len(line)
        self._drawn = time.perf_counter()

    def _print(self, line: str) -> None:
        self.stream.write(line + '\n')
        self.stream.flush()


class RunConsole:
    """The console of a tool that trains several runs.

    Args:
        verbose (bool): Show MMEngine's raw console stream instead of the
            progress display. Defaults to False.
        stream (TextIO, optional): Where progress and results go. Defaults
            to ``sys.stdout`` at construction.
        metric (str): Validation metric shown while training.
    """

    def __init__(self,
                 verbose: bool = False,
                 stream: Optional[TextIO] = None,
                 metric: str = 'accuracy/top1') -> None:
        self.verbose = verbose
        self.stream = stream or sys.stdout
        self.metric = metric
        self._hook: Optional[ProgressHook] = None

    def print(self, text: str = '') -> None:
        """A line for the reader: results, paths, summaries."""
        if self._hook is not None:
            self._hook.clear()
        self.stream.write(text + '\n')
        self.stream.flush()

    @contextlib.contextmanager
    def run(self, label: str) -> Iterator[Optional[ProgressHook]]:
        """The context of one run: build the runner inside it and register
        the hook it yields (None when verbose) with
        ``runner.register_hook(hook)``. When not verbose, what MMEngine and
        warnings print meanwhile goes to a sink; if the run fails, its last
        lines are shown before the error propagates."""
        if self.verbose:
            yield None
            return
        sink = _Sink()
        self._hook = ProgressHook(label, self.stream, self.metric)
        stdout, stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = sink
        try:
            yield self._hook
        except BaseException:
            sys.stdout, sys.stderr = stdout, stderr
            self._hook.clear()
            self.stream.write(f'{label} failed; its last output:\n'
                              f'{sink.tail()}\n')
            self.stream.flush()
            raise
        finally:
            sys.stdout, sys.stderr = stdout, stderr
            if self._hook is not None:
                self._hook.clear()
            self._hook = None
