"""python -m benchmarks.accuracy [--part heart|vgg|all] [--seeds N]: the accuracy tables."""

from __future__ import annotations

import argparse
import sys

from hospital.models import use_deterministic_torch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.accuracy")
    parser.add_argument("--part", choices=("heart", "vgg", "all"), default="all")
    parser.add_argument("--seeds", type=int, default=5, help="heart: how many of seeds 42..46")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (cores are shared)")
    args = parser.parse_args(argv)
    use_deterministic_torch(threads=args.threads)
    log = lambda msg: print(f"  … {msg}", file=sys.stderr, flush=True)  # noqa: E731

    if args.part in ("heart", "all"):
        from benchmarks.accuracy.flamby_reference import load_published
        from benchmarks.accuracy.heart import SEEDS, run_heart
        from benchmarks.accuracy.heart_data import CENTRES
        from benchmarks.accuracy.tables import (
            crypto_table,
            flamby_per_centre,
            heart_table,
            per_seed,
            targets,
        )

        report = run_heart(SEEDS[: args.seeds], log=log)
        published = load_published()
        print(
            "\n## Heart disease, FLamby protocol: test accuracy per centre "
            f"(mean over {args.seeds} seeds)\n"
        )
        print(heart_table(report, published, CENTRES))
        print()
        print(flamby_per_centre(published, CENTRES))
        print("\nthe encrypted path (2048-bit threshold Paillier, 2 of 4 miners, 12-bit values):\n")
        print(crypto_table(report))
        print("\nhyperparameters chosen by 3-fold CV inside the training sets:")
        for k, v in report.chosen.items():
            print(f"  {k}: {v}")
        print(
            "\nper-seed means: "
            + "; ".join(f"{k}: {per_seed(s)}" for k, s in report.methods.items() if "+" in k)
        )
        print("\n" + targets(report, "FedAvg + fine-tune"))
        print(targets(report, "FedAvg + CV-chosen personalisation"))
        print(f"\nheart wall time {report.seconds:.0f}s (2 shared cores, 1 torch thread)")

    if args.part in ("vgg", "all"):
        from benchmarks.accuracy.dermoscopy import run_vgg  # type: ignore[import-not-found]

        print(run_vgg(log=log))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
