"""``python -m bench weights status|download|verify [name ...]``: the pretrained artifacts the harness uses.

  status              every artifact: present or missing, where, size, checksum, what uses it
  download [names]    fetch missing artifacts into $BENCH_WEIGHTS (default ~/.cache/bench/weights) and check their
                      sha256; without names, every missing one (needs internet access)
  verify [names]      hash the present files and compare them with the manifest; exit 1 on any mismatch
                      (or on a named artifact that is missing)

Files in torch hub's cache ($TORCH_HOME/hub/checkpoints), detectron2's cache and inside installed packages (the
LPIPS heads, detectron2's configs) are found too.
"""

from __future__ import annotations

from core import weights
from core.errors import BenchError, MissingWeightsError

SUMMARY = "list, download or verify the pretrained weights metrics and methods use"


def _names(args: list[str]) -> list[str]:
    for name in args:
        if name not in weights.MANIFEST:
            raise BenchError(f"unknown artifact {name!r}", hint=f"known: {', '.join(sorted(weights.MANIFEST))}")
    return args or sorted(weights.MANIFEST)


def _size(n: int | None) -> str:
    if n is None:
        return "?"
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def status(names: list[str]) -> int:
    from tabulate import tabulate

    rows = []
    for name in names:
        artifact = weights.MANIFEST[name]
        path = weights.locate(name)
        checksum = artifact.sha256 or (artifact.checksum_text if artifact.git_blob_sha1
                                        else f"{artifact.sha256_prefix}… (prefix only)")
        rows.append([name, "present" if path else "MISSING", _size(artifact.size), checksum,
                     str(path) if path else weights.get_command(artifact), artifact.used_by])
    print(tabulate(rows, headers=["artifact", "state", "size", "sha256", "location / how to get it", "used by"]))
    print(f"\nweights folder: {weights.weights_dir()}  (set BENCH_WEIGHTS to change; torch hub cache "
          f"{weights.torch_hub_dir()} is also searched). `status` does not hash files: run `verify` for that.")
    return 0


def verify(names: list[str], explicit: bool) -> int:
    from tabulate import tabulate

    rows, failed = [], False
    for name in names:
        artifact = weights.MANIFEST[name]
        path = weights.locate(name)
        if path is None:
            rows.append([name, "missing", "", artifact.checksum_text])
            failed |= explicit
            continue
        digest = weights.digest_of(path)
        ok = weights.file_matches(artifact, path)
        failed |= not ok
        rows.append([name, "ok" if ok else "MISMATCH", str(path),
                     digest if ok else f"{digest} (expected {artifact.checksum_text})"])
    print(tabulate(rows, headers=["artifact", "check", "path", "sha256"]))
    return 1 if failed else 0


def download(names: list[str], explicit: bool) -> int:
    failures = 0
    for name in names:
        if weights.locate(name) is not None:
            print(f"{name}: already present at {weights.locate(name)}")
            continue
        artifact = weights.MANIFEST[name]
        print(f"{name}: downloading {artifact.url} ({_size(artifact.size)}) …", flush=True)
        try:
            print(f"{name}: saved {weights.download(name)}")
        except MissingWeightsError as exc:
            failures += 1
            print(f"{name}: FAILED: {exc}")
    if failures:
        raise BenchError(f"{failures} of {len(names)} artifact(s) could not be downloaded",
                         hint="without internet access, copy the files (names and checksums: "
                              "`python -m bench weights status`) into " + str(weights.weights_dir()))
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    action, rest = argv[0], argv[1:]
    names = _names(rest)
    if action == "status":
        return status(names)
    if action == "verify":
        return verify(names, explicit=bool(rest))
    if action == "download":
        return download(names, explicit=bool(rest))
    raise BenchError(f"unknown action {action!r}", hint="use status, download or verify")
