# Records how long each task takes, from its start to its result, for bench/: one line
# "SECONDS<TAB>TASK NAME<TAB>SECONDS SINCE THE PLAYBOOK STARTED, AT ITS RESULT" per task result in the file $BENCH_TIMER_FILE. Not shipped with the
# collection.
from __future__ import annotations

import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: bench_timer
    type: aggregate
    short_description: each task's duration, for bench/modules
    description: Writes each task's duration (start to result) to $BENCH_TIMER_FILE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timer"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._start = None
        self._name = ""
        self._origin = time.monotonic()
        self._out = open(os.environ["BENCH_TIMER_FILE"], "a", encoding="utf-8")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start = time.monotonic()
        self._name = task.get_name()

    def _done(self, result):
        if self._start is not None:
            now = time.monotonic()
            self._out.write(f"{now - self._start:.4f}\t{self._name}\t{now - self._origin:.4f}\n")
            self._out.flush()
            self._start = None

    v2_runner_on_ok = _done
    v2_runner_on_failed = _done
