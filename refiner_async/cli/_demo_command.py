"""``refiner-async demo``: the emulator's responses exported through the SDK, and checked."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

import click
import orjson

from .._client import RefinerClient
from .._export import export
from ._base import DEBUG, Failure, cli, run_command, say
from ._progress import progress_reporter

__all__ = ["demo"]


async def _demo(responses: int, seed: int, latency: float, out: Path) -> set[str]:
    """Serve the emulator, export its responses to ``out``; returns the uuids it holds."""
    from ..testing import FakeRefiner

    say(f"Starting the Refiner API emulator: {responses:,} responses, seed {seed} ...")
    async with FakeRefiner(
        seed=seed, responses=responses, latency=latency, jitter=latency / 2
    ) as fake:
        # A few failures, as a real network has them: the retries show in the summary.
        fake.faults.add("503", path="/responses", probability=0.1, times=3)
        fake.faults.add("429", path="/responses", probability=0.1, times=1, retry_after=1)
        say(
            f"Serving {fake.base_url} (built in {fake.build_seconds:.2f} s; {latency * 1000:.0f} ms "
            "latency per request; a few 503s and a 429 injected on /responses)"
        )
        async with RefinerClient(fake.api_key, base_url=fake.base_url) as client:
            with progress_reporter() as progress:
                summary = await export(
                    client, "responses", out, include="all", overwrite=True, progress=progress
                )
        say(str(summary))
        return fake.all_response_uuids(include="all")


def _check(out: Path, expected: set[str]) -> bool:
    """True when ``out`` holds each uuid of ``expected`` exactly once, and nothing else."""
    with open(out, "rb") as lines:
        seen = [orjson.loads(line)["uuid"] for line in lines]
    if len(seen) == len(expected) and set(seen) == expected:
        say(
            f"Checked: {len(seen):,} lines, each of the emulator's {len(expected):,} responses "
            "exactly once."
        )
        return True
    click.echo(
        f"Check failed: {len(seen):,} lines, {len(set(seen)):,} distinct uuids; "
        f"the emulator holds {len(expected):,} responses.",
        err=True,
    )
    return False


@cli.command()
@click.option(
    "--responses",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Responses in the emulator's data set.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the data set.")
@click.option(
    "--latency", type=click.FloatRange(min=0), default=0.005, show_default=True, help="Seconds."
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Keep the export here (default: a temporary directory, removed afterwards).",
)
@click.option("--debug", **DEBUG)
def demo(responses: int, seed: int, latency: float, out: Path | None, debug: bool) -> None:
    """Export every response of an embedded emulator, with progress, and check the count.

    Runs the emulator in this process (realistic data, some latency, a few injected faults),
    exports its responses to JSON Lines through the SDK, and compares the file with the emulator.
    """
    with contextlib.ExitStack() as stack:
        keep = out is not None
        if out is None:
            out = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "responses.jsonl"
        expected = run_command(
            _demo(responses, seed, latency, out), debug=debug, on_interrupt=lambda: "interrupted"
        )
        ok = _check(out, expected)
    if not keep:
        say("(The file was temporary: --out FILE keeps it.)")
    if not ok:
        raise Failure("the export does not match the emulator's data")
