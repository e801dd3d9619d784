import json

import numpy as np
import pytest
import torch
from conftest import SAMPLES

from recognize.config import AugmentConfig, FeatureConfig, load_config
from recognize.errors import ConfigError, ManifestError
from recognize.inputs.manifest import read_manifest
from recognize.inputs.text import Alphabet
from recognize.training.data import BucketBatchSampler, SpeechDataset, collate, ctc_fits


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
    ('{"id": 1, "audio_filepath": "long.wav", "offset": 12.5, "duration": 3, "text": "A"}\n',
     r"m\.jsonl:1: 'offset' \(a segment of a longer file\) is not supported"),
    ('{"id": 1, "audio": "a.wav", "text": null}\n', r"m\.jsonl:1: 'text' must be a string, not null"),
    ('{"id": 1, "audio": "a.wav", "text": 12345}\n', r"m\.jsonl:1: 'text' must be a string, not 12345"),
    ('{"id": null, "audio": "a.wav", "text": "A"}\n', r"m\.jsonl:1: 'id' must be a non-empty string or a whole number, not null"),
    ('{"id": true, "audio": "a.wav", "text": "A"}\n', r"m\.jsonl:1: 'id' must be .* not true"),
    ('{"id": 1, "audio": "a.wav", "image": "a.png", "text": "A"}\n', r"m\.jsonl:1: both 'audio' and 'image'"),
    ('{"id": 1, "audio": 7, "text": "A"}\n', r"m\.jsonl:1: 'audio' must be a path string"),
    ('\n\n', r"m\.jsonl: no rows"),
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
    data = SpeechDataset(rows, alphabet, FeatureConfig(), AugmentConfig(speed_factors=[0.9, 1.1]), seed=1)
    batch = collate([data[0], data[1]])
    assert batch["features"].shape[0] == 2 and batch["features"].shape[2] == 80
    assert batch["lengths"].tolist() == [len(data[0]["features"]), len(data[1]["features"])]
    assert batch["label_lengths"].tolist() == [6, 3]
    assert torch.equal(data[0]["features"], data[0]["features"])  # same (seed, epoch, index): same speed
    # 2.8 s at 0.9x or 1.1x speed: about 311 or 254 frames instead of 278
    assert len(data[0]["features"]) in range(250, 320) and len(data[0]["features"]) != 278


def test_join_follows_an_utterance_with_another_audio_and_text():
    from recognize.inputs.audio import load_audio, log_mel

    rows = [{"id": "a", "audio": str(SAMPLES / "cen8-mmtm-b.wav"), "text": "AUGUST"},
            {"id": "b", "audio": str(SAMPLES / "cen7-fjam-b.wav"), "text": "SIX"}]
    alphabet = Alphabet.from_texts(["AUGUST SIX"])
    waves = [load_audio(r["audio"], 16000) for r in rows]
    single = SpeechDataset(rows, alphabet, FeatureConfig(), seed=1)
    joined = SpeechDataset(rows, alphabet, FeatureConfig(), AugmentConfig(speed_factors=[], join=1.0), seed=1)
    for index in range(2):
        item = joined[index]
        first, then = item["id"].split("+")
        partner = "ab".index(then)
        assert first == rows[index]["id"] and item["text"] == f"{rows[index]['text']} {rows[partner]['text']}"
        expected = log_mel(np.concatenate([waves[index], waves[partner]]), FeatureConfig())
        assert torch.equal(item["features"], torch.from_numpy(expected))
        assert torch.equal(single[index]["features"], torch.from_numpy(log_mel(waves[index], FeatureConfig())))
    partners = set()
    for epoch in range(8):
        joined.epoch = epoch
        partners.add(joined[0]["id"])
    assert partners == {"a+a", "a+b"}  # drawn afresh each epoch, from every row


def test_vtlp_warps_each_item_afresh_and_reproducibly():
    rows = [{"id": "a", "audio": str(SAMPLES / "cen8-mmtm-b.wav"), "text": "AUGUST"}]
    alphabet = Alphabet.from_texts(["AUGUST"])
    plain = SpeechDataset(rows, alphabet, FeatureConfig(), seed=1)[0]["features"]
    warped = SpeechDataset(rows, alphabet, FeatureConfig(), AugmentConfig(speed_factors=[], vtlp=0.1), seed=1)
    seen = []
    for epoch in range(3):
        warped.epoch = epoch
        item = warped[0]["features"]
        assert item.shape == plain.shape and not torch.equal(item, plain)
        assert torch.equal(item, warped[0]["features"])  # same (seed, epoch, index): same warp
        seen.append(item)
    assert not torch.equal(seen[0], seen[1])  # a new factor each epoch
    with pytest.raises(ConfigError, match="augment.vtlp: must be in"):
        load_config(None, ["augment.vtlp=0.5"])


def test_ctc_fits_counts_repeats():
    assert ctc_fits([1, 2, 3], 3)
    assert not ctc_fits([1, 1, 2], 3)  # the repeated 1 needs a blank between: 4 frames
    assert ctc_fits([1, 1, 2], 4)


def test_a_lazy_manifest_reads_rows_like_the_eager_one_in_a_fraction_of_the_memory(tmp_path):
    """200,000 rows: the eager list costs hundreds of MB, the lazy one a few (offsets and lengths)."""
    import subprocess
    import sys

    from recognize.inputs.manifest import LazyManifest, read_manifest

    path = tmp_path / "big.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i in range(200_000):
            f.write(json.dumps({"id": f"utt{i}", "audio": "a/b.wav", "text": f"zähle  {i} schäfchen",
                                "duration": 1 + i % 7, "speaker": f"s{i % 50}"}, ensure_ascii=False) + "\n")
    lazy = LazyManifest(path)
    assert len(lazy) == 200_000 and lazy.lengths[:3].tolist() == [1, 2, 3]
    eager = read_manifest(path)
    for i in (0, 1, 99_999, 199_999, -1):
        assert lazy[i] == eager[i]
    assert [r["id"] for r in lazy][:2] == ["utt0", "utt1"]

    def peak_growth_mb(code):
        probe = (f"import resource, re\nfrom recognize.inputs.manifest import *\n"
                 f"def rss(): return int(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read())[1])\n"
                 f"before = rss(); rows = {code}('{path}'); print((rss() - before) / 1024)")
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
        return float(done.stdout)

    lazy_mb, eager_mb = peak_growth_mb("LazyManifest"), peak_growth_mb("read_manifest")
    assert lazy_mb < 16 and eager_mb > 10 * lazy_mb, (lazy_mb, eager_mb)


def test_a_lazy_manifest_names_the_bad_line(tmp_path):
    from recognize.errors import ManifestError
    from recognize.inputs.manifest import LazyManifest

    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a", "audio": "a.wav", "text": "x"}\n\n{"id": "b", "audio": "b.wav"}\n')
    with pytest.raises(ManifestError, match=r"m.jsonl:3: missing key 'text'"):
        LazyManifest(path)
    path.write_text('{"id": "a", "audio": "a.wav", "text": "x"}\n{"id": "a", "audio": "b.wav", "text": "y"}\n')
    with pytest.raises(ManifestError, match="duplicate id 'a'"):
        LazyManifest(path)
