"""logpai's Brain or Drain (PyPI `logparser3` 1.0.4) over one Loghub 2k system, with the
per-dataset settings of logpai's own benchmark scripts (`logparser/Brain/benchmark.py`,
`logparser/Drain/benchmark.py`, read from the installed package, not copied): the baselines
`cargo bench --bench pattern_accuracy` scores beside the patterns miner.

Prints one line per parsed log line, `<LineId>\t<EventId>\t<EventTemplate>`, on stdout
(the parser's own progress goes to stderr). Lines the dataset's log format does not match
are missing from the output, as in logpai's results.

Usage: python3 benches/logpai_baseline.py Brain|Drain SYSTEM_DIR SYSTEM
"""

import ast
import contextlib
import csv
import importlib.util
import os
import sys
import tempfile


def benchmark_settings(method: str) -> dict:
    """The `benchmark_settings` literal of logpai's benchmark script for `method`; the script
    runs the whole benchmark when imported, so only the assignment is evaluated."""
    spec = importlib.util.find_spec("logparser")
    if spec is None:
        raise SystemExit("logparser3 is not installed: pip install logparser3==1.0.4")
    script = os.path.join(os.path.dirname(spec.origin), method, "benchmark.py")
    with open(script, encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "benchmark_settings" for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise SystemExit(f"no benchmark_settings in {script}")


def main() -> None:
    method, system_dir, system = sys.argv[1], sys.argv[2], sys.argv[3]
    setting = benchmark_settings(method)[system]
    log_file = f"{system}_2k.log"
    with tempfile.TemporaryDirectory() as outdir, contextlib.redirect_stdout(sys.stderr):
        if method == "Brain":
            from logparser.Brain import LogParser

            parser = LogParser(
                log_format=setting["log_format"],
                indir=system_dir,
                outdir=outdir,
                rex=setting["regex"],
                delimeter=setting["delimiter"],
                threshold=setting["theshold"],
                logname=system,
            )
        elif method == "Drain":
            from logparser.Drain import LogParser

            parser = LogParser(
                log_format=setting["log_format"],
                indir=system_dir,
                outdir=outdir,
                rex=setting["regex"],
                depth=setting["depth"],
                st=setting["st"],
            )
        else:
            raise SystemExit(f"unknown method {method}: Brain or Drain")
        parser.parse(log_file)
        with open(os.path.join(outdir, log_file + "_structured.csv"), encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    for row in rows:
        template = " ".join(row["EventTemplate"].split())
        print(f"{row['LineId']}\t{row['EventId']}\t{template}")


if __name__ == "__main__":
    main()
