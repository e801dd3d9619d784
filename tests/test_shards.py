"""Tar shards: written from a real manifest, streamed from a folder or over HTTP, resumable."""

import functools
import http.server
import json
import tarfile
import threading

import torch
from conftest import ROOT, run_cli

from recognize.config import load_config
from recognize.inputs.audio import num_frames
from recognize.inputs.text import Alphabet
from recognize.training.data import stream_item_maker
from recognize.training.shards import ShardStream, read_index, read_shard, write_shards


def ids_of(stream):
    return [batch["ids"] for batch in stream]


def test_shards_round_trip_stream_and_resume(yesno_data, tmp_path):
    cfg = load_config(ROOT / "configs" / "yesno.yaml")
    rows = [json.loads(line) for line in (yesno_data / "train.jsonl").read_text().splitlines()]
    shards = write_shards(yesno_data / "train.jsonl", tmp_path / "shards", cfg, shard_size=7)
    assert len(shards) == 5
    with tarfile.open(shards[0]) as tar:
        assert tar.getnames()[:2] == ["000000000.json", "000000000.wav"]
    (row, content), *_ = read_shard(str(shards[0]))
    assert row["id"] == rows[0]["id"] and content == (yesno_data / rows[0]["audio"]).read_bytes()

    alphabet = Alphabet.from_texts(r["text"] for r in rows)
    make = stream_item_maker(alphabet, cfg)
    stream = ShardStream(read_index(str(tmp_path / "shards")), make, 40, 8, seed=1, buffer=100)
    stream.epoch = 1
    whole = ids_of(stream)
    assert len(whole) == stream.steps and sorted(i for b in whole for i in b) == sorted(r["id"] for r in rows)
    stream.start = 2  # a run resumed after two batches gets the rest, in the same order
    assert ids_of(stream) == whole[2:]
    stream.start, stream.epoch = 0, 2
    assert ids_of(stream) != whole  # another epoch, another order

    # Over HTTP, from a real server on localhost: the same batches.
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(tmp_path / "shards"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        remote = ShardStream(read_index(f"http://127.0.0.1:{server.server_port}"), make, 40, 8, seed=1, buffer=100)
        remote.epoch = 1
        assert ids_of(remote) == whole
    finally:
        server.shutdown()

    # Two DataLoader workers give the same batches in the same order, resumed or not.
    stream.epoch = 1
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
    assert [b["ids"] for b in loader] == whole
    stream.start = 3
    assert [b["ids"] for b in loader] == whole[3:]


def test_join_follows_a_streamed_utterance_with_one_of_its_batch(yesno_data, tmp_path):
    cfg = load_config(ROOT / "configs" / "yesno.yaml", ["augment.join=1.0"])
    rows = {r["id"]: r for r in map(json.loads, (yesno_data / "train.jsonl").read_text().splitlines())}
    write_shards(yesno_data / "train.jsonl", tmp_path / "shards", cfg, shard_size=7)
    stream = ShardStream(read_index(str(tmp_path / "shards")), stream_item_maker(Alphabet.from_texts(
        r["text"] for r in rows.values()), cfg), 40, 8, seed=1, buffer=100)
    stream.epoch = 1
    batches = list(stream)
    assert sorted(name.split("+")[0] for b in batches for name in b["ids"]) == sorted(rows)
    for batch in batches:
        firsts = [name.split("+")[0] for name in batch["ids"]]
        for name, text, frames in zip(batch["ids"], batch["texts"], batch["lengths"]):
            first, then = name.split("+")
            assert then in firsts  # the partner comes from the same batch, whose bytes are at hand
            assert text == f"{rows[first]['text']} {rows[then]['text']}"
            seconds = rows[first]["duration"] + rows[then]["duration"]  # rounded to 10 ms
            assert abs(int(frames) - num_frames(round(cfg.features.sample_rate * seconds), cfg.features)) <= 2


def test_training_streams_from_shards(yesno_data, tmp_path):
    done = run_cli("shard", yesno_data / "train.jsonl", "--config", ROOT / "configs" / "yesno.yaml",
                   "--out", tmp_path / "shards", "--shard-size", 10)
    assert done.returncode == 0, done.stderr
    done = run_cli("train", ROOT / "configs" / "yesno.yaml", "--out", tmp_path / "run",
                   "--set", f"train.train_shards={tmp_path / 'shards'}",
                   "--set", f"train.dev_manifest={yesno_data / 'dev.jsonl'}", "--set", "train.epochs=2",
                   "--set", "train.threads=1")
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 2 and records[1]["train_loss"] < records[0]["train_loss"]
