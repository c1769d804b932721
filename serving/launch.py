"""``bentoml serve`` with a dead worker noticed within half a second (``cintel serve`` runs it).

BentoML's process manager (circus) looks for dead workers only every ``check_delay``
seconds, and BentoML 1.4 sets it to 10 (circus's own default is 1): after a ``kill -9``
the port then stays unanswered for up to 10 s before the restart even begins. This
module passes ``check_delay=CHECK_DELAY_S`` to the arbiter, answers 503 for connections
that wait unaccepted while no worker is up (``serving.standby``; the workers say they are
up in a folder this process makes, ``serving.readiness``), and runs BentoML's own
``serve`` command unchanged; on a BentoML without that hook it says so and serves as is.

    python -m serving.launch serving.service:Cintel --host 127.0.0.1 --port 3000
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from serving.readiness import workers_up
from serving.standby import Standby

CHECK_DELAY_S = 0.5


def faster_worker_checks(
    check_delay: float = CHECK_DELAY_S, standby_s: float = 0.0, ready_dir: str | None = None
) -> bool:
    """Make BentoML's arbiter check its workers every ``check_delay`` s and, with
    ``standby_s`` > 0, answer 503 on its sockets for connections no worker accepted within
    that many seconds while none is up in ``ready_dir`` (``serving.standby``; without
    ``ready_dir``, whatever the workers); False if it cannot."""
    try:
        from bentoml._internal.utils import circus as circus_utils
    except ImportError:
        return False
    original = getattr(circus_utils, "create_standalone_arbiter", None)
    if original is None:
        return False
    if getattr(original, "cintel_check_delay", None) is not None:
        return True

    def create_standalone_arbiter(watchers: list[Any], **kwargs: Any) -> Any:
        kwargs.setdefault("check_delay", check_delay)
        if standby_s > 0 and kwargs.get("sockets"):
            ready = None if ready_dir is None else (lambda: workers_up(ready_dir) > 0)
            Standby(kwargs["sockets"], standby_s, ready).start()
        return original(watchers, **kwargs)

    create_standalone_arbiter.cintel_check_delay = check_delay  # type: ignore[attr-defined]
    circus_utils.create_standalone_arbiter = create_standalone_arbiter
    return True


def main(argv: Sequence[str] | None = None) -> None:
    """``bentoml serve ARGS`` with the faster worker checks and the standby 503s."""
    import atexit
    import os
    import shutil
    import tempfile

    from serving.readiness import ENV
    from serving.settings import get_service_settings

    ready_dir = tempfile.mkdtemp(prefix="cintel-ready-")  # the workers inherit its name
    os.environ[ENV] = ready_dir
    atexit.register(shutil.rmtree, ready_dir, True)
    standby_s = get_service_settings().standby_503_seconds
    if not faster_worker_checks(standby_s=standby_s, ready_dir=ready_dir):
        print(
            "warning: this BentoML has no create_standalone_arbiter hook; a killed worker is "
            "restarted on BentoML's own schedule (up to 10 s)",
            file=sys.stderr,
        )
    from bentoml_cli.cli import cli

    cli.main(args=["serve", *(sys.argv[1:] if argv is None else argv)], prog_name="bentoml")


if __name__ == "__main__":
    main()
