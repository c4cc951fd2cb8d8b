"""The training data on disk: shards of model-ready features (per-feature
normalised log-mel, fbank.features) quantised to int8 in steps of 1/16 of a
standard deviation, with their texts. Quantising makes a shard a third of
float16's size, which is what lets the data travel to a lent GPU machine;
the step is far below the noise the augmentation adds."""
import os

import numpy as np

STEPS_PER_UNIT = 16


def write_shard(path, feats, texts):
    """feats: list of [T, 80] normalised features; written atomically."""
    q = np.concatenate([np.clip(np.round(f * STEPS_PER_UNIT), -127, 127).astype(np.int8) for f in feats])
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, feats_q=q, lengths=np.array([len(f) for f in feats]), texts=np.array(texts))
    os.replace(tmp, path)


def read_shard(path):
    """-> (list of [T, 80] float32 features, list of texts)."""
    z = np.load(path)
    all_feats = z["feats_q"].astype(np.float32) / STEPS_PER_UNIT  # one conversion, then views
    offs = np.concatenate([[0], np.cumsum(z["lengths"])])
    feats = [all_feats[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
    return feats, [str(t) for t in z["texts"]]


def write_shard_f16(path, feats, texts, feats_nemo=None):
    """The streaming model's shards (synth.py with SYNTH_FEATURES=kaldi): raw
    kaldi log-mel [T, 80] (not normalised, so not int8) as float16, optionally
    with the NeMo features of the same audio (for fitting the input map)."""
    arrays = {"feats": np.concatenate(feats).astype(np.float16), "lengths": np.array([len(f) for f in feats]),
              "texts": np.array(texts)}
    if feats_nemo is not None:
        arrays["feats_nemo"] = np.concatenate(feats_nemo).astype(np.float16)
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def read_shard_f16(path, key="feats"):
    """-> (list of [T, 80] float32 features, list of texts); key "feats_nemo" for the NeMo twin."""
    z = np.load(path)
    all_feats = z[key].astype(np.float32)
    offs = np.concatenate([[0], np.cumsum(z["lengths"])])
    return [all_feats[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)], [str(t) for t in z["texts"]]
