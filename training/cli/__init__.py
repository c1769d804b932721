"""Training's commands; ``monitoring.entry`` assembles them into the ``cintel`` group."""

from training.cli.backtest import backtest
from training.cli.data import cdnow, simulate_responses, snapshot, synth
from training.cli.models import train
from training.cli.registry import promote, rollback, ui

COMMANDS = (synth, cdnow, snapshot, simulate_responses, train, backtest, promote, rollback, ui)
