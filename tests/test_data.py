import json

import pytest
import torch

from recognize.data import BucketBatchSampler, SpeechDataset, collate, ctc_fits
from recognize.manifest import read_manifest
from recognize.config import FeatureConfig
from recognize.errors import ManifestError
from recognize.text import Alphabet

from conftest import SAMPLES


def write(tmp_path, *rows, raw=None):
    path = tmp_path / "m.jsonl"
    path.write_text(raw if raw is not None else "".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_relative_absolute_and_nemo_paths(tmp_path):
    (tmp_path / "a.wav").write_bytes(b"")
    path = write(tmp_path, {"id": 1, "audio": "a.wav", "text": " YES  NO "},
                 {"id": "b", "audio_filepath": str(SAMPLES / "cen7-fjam-b.wav"), "text": "X", "speaker": "fjam"})
    rows = read_manifest(path)
    assert rows[0]["audio"] == str(tmp_path / "a.wav") and rows[0]["id"] == "1" and rows[0]["text"] == "YES NO"
    assert rows[1]["audio"] == str(SAMPLES / "cen7-fjam-b.wav") and rows[1]["speaker"] == "fjam"


@pytest.mark.parametrize("raw, message", [
    ('{"id": 1, "audio": "a.wav", "text": "A"}\n{"id": 2, "audio": \n', r"m\.jsonl:2: not valid JSON"),
    ('{"id": 1, "text": "A"}\n', r"m\.jsonl:1: missing key 'audio'"),
    ('{"id": 1, "audio": "a.wav"}\n', r"m\.jsonl:1: missing key 'text'"),
    ('{"id": 1, "audio": "a", "text": ""}\n\n{"id": 1, "audio": "b", "text": ""}\n', r"m\.jsonl:3: duplicate id '1'"),
    ('[1, 2]\n', r"m\.jsonl:1: expected a JSON object"),
])
def test_malformed_manifests_name_the_line(tmp_path, raw, message):
    with pytest.raises(ManifestError, match=message):
        read_manifest(write(tmp_path, raw=raw))


def test_bucketing_covers_everything_once_within_budget():
    durations = [1.0, 5.0, 2.0, 2.2, 9.0, 0.5, 3.0, 3.1, 4.0, 1.5]
    sampler = BucketBatchSampler(durations, budget=10.0, max_batch_size=3, shuffle=True, seed=3)
    for epoch in range(3):
        sampler.epoch = epoch
        batches = sampler.batches()
        assert sorted(i for b in batches for i in b) == list(range(len(durations)))
        for b in batches:
            assert len(b) <= 3
            assert len(b) == 1 or max(durations[i] for i in b) * len(b) <= 10.0
    sampler.epoch = 1
    assert sampler.batches() == sampler.batches()  # reproducible from (seed, epoch)


def test_dataset_and_collate_on_real_audio():
    rows = [{"id": "a", "audio": str(SAMPLES / "cen8-mmtm-b.wav"), "text": "AUGUST"},
            {"id": "b", "audio": str(SAMPLES / "cen7-fjam-b.wav"), "text": "SIX"}]
    alphabet = Alphabet.from_texts(["AUGUST SIX"])
    data = SpeechDataset(rows, alphabet, FeatureConfig(), speed_factors=[0.9, 1.1], seed=1)
    batch = collate([data[0], data[1]])
    assert batch["features"].shape[0] == 2 and batch["features"].shape[2] == 80
    assert batch["lengths"].tolist() == [len(data[0]["features"]), len(data[1]["features"])]
    assert batch["label_lengths"].tolist() == [6, 3]
    assert torch.equal(data[0]["features"], data[0]["features"])  # same (seed, epoch, index): same speed
    # 2.8 s at 0.9x or 1.1x speed: about 311 or 254 frames instead of 278
    assert len(data[0]["features"]) in range(250, 320) and len(data[0]["features"]) != 278


def test_ctc_fits_counts_repeats():
    assert ctc_fits([1, 2, 3], 3)
    assert not ctc_fits([1, 1, 2], 3)  # the repeated 1 needs a blank between: 4 frames
    assert ctc_fits([1, 1, 2], 4)
