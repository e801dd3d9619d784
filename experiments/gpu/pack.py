"""Pack prepared manifests and their files into one folder a lent GPU machine can be given
(the device tool carries at most 64 MiB): audio as FLAC, images as they are.

    python experiments/gpu/pack.py data/an4/train.jsonl data/an4/dev.jsonl -o data/gpu/an4
    python experiments/gpu/pack.py data/copiste/train.jsonl data/copiste/val.jsonl -o data/gpu/copiste

Each manifest is written into the folder under its own name, its rows naming their files
relative to it (``train/an251-fash-b.flac``), so a run there needs only
``--set train.train_manifest=data/gpu/an4/train.jsonl --set train.dev_manifest=...``.
FLAC of the 16-bit samples is lossless: the packed recordings read exactly as the
originals (16-bit sources, as AN4's). Prints the folder's size.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import soundfile as sf

from recognize.inputs.manifest import read_manifest, write_manifest


def pack(manifest: Path, out: Path) -> int:
    """Copy ``manifest``'s files into ``out/<its name>/`` and write ``out/<its name>.jsonl``; bytes written."""
    folder = out / manifest.stem
    folder.mkdir(parents=True, exist_ok=True)
    rows, written = [], 0
    for row in read_manifest(manifest):
        if "audio" in row:
            samples, rate = sf.read(row["audio"], dtype="int16")  # the 16-bit samples themselves: no rescaling
            target = folder / f"{row['id']}.flac"
            sf.write(target, samples, rate, subtype="PCM_16")
            row = {**row, "audio": f"{folder.name}/{target.name}"}
        else:
            target = folder / f"{row['id']}{Path(row['image']).suffix}"
            shutil.copyfile(row["image"], target)
            row = {**row, "image": f"{folder.name}/{target.name}"}
        rows.append(row)
        written += target.stat().st_size
    write_manifest(rows, out / manifest.name)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("manifests", nargs="+", type=Path)
    parser.add_argument("-o", "--out", required=True, type=Path)
    args = parser.parse_args()
    total = sum(pack(manifest, args.out) for manifest in args.manifests)
    print(f"{args.out}: {total / 2**20:.1f} MiB (the device tool carries at most 64 MiB)")


if __name__ == "__main__":
    main()
