#!/usr/bin/python3
"""Tests of tools/convert_primus_ckpt.py on checkpoints built here with the structure of the
PRIMUS pretraining checkpoint (PRIMUS.md section 2), and the Python-vs-C++ parity test: fixed
inputs through the reference model and through primusd's encoder loaded from the converted file.

Environment: PRIMUS_SOURCE_DIR (repo root), PRIMUS_PARITY_EMBED (C++ helper; parity is skipped
when unset). Exit code 77 (ctest: skipped) when torch is not importable."""

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import numpy as np
    import torch
except ImportError as e:  # pragma: no cover
    print(f"skipping: {e}")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import primus_reference as ref  # noqa: E402

SOURCE_DIR = os.environ.get("PRIMUS_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
CONVERTER = os.path.join(SOURCE_DIR, "tools", "convert_primus_ckpt.py")
PARITY_EMBED = os.environ.get("PRIMUS_PARITY_EMBED", "")
TOLERANCE = 1e-5


def lightning_checkpoint(encoder, extra=None):
    """A dict shaped like PRIMUSLearningModule's ModelCheckpoint output."""
    state = collections.OrderedDict()
    for k, v in encoder.state_dict().items():
        state["imu_encoder." + k] = v
    state["mmcl_loss.temperature"] = torch.tensor(0.1)
    state["ssl_loss.temperature"] = torch.tensor(0.1)
    clip = collections.OrderedDict([
        ("text_model.embeddings.token_embedding.weight", torch.randn(64, 16)),
        ("text_model.final_layer_norm.weight", torch.ones(16)),
        ("video_model.vision_model.embeddings.patch_embedding.weight", torch.randn(16, 3, 4, 4)),
        ("video_model.visual_projection.weight", torch.randn(16, 16)),
    ])
    for k, v in clip.items():  # the same CLIP4Clip object is registered twice
        state["text_encoder." + k] = v
        state["video_encoder." + k] = v
    ckpt = {
        "epoch": 14,
        "global_step": 12345,
        "pytorch-lightning_version": "1.9.4",
        "state_dict": state,
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 15}}}},
        "callbacks": {
            "ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0}": {
                "monitor": "val_loss", "best_model_score": torch.tensor(2.31),
                "best_model_path": "/tmp/x-epoch=14-val_loss=2.31.ckpt",
                "best_k_models": {"/tmp/x-epoch=14-val_loss=2.31.ckpt": torch.tensor(2.31)},
                "dirpath": "/tmp", "last_model_path": "", "kth_value": torch.tensor(2.31)}},
        "optimizer_states": [{
            "state": {0: {"step": torch.tensor(10.0), "exp_avg": torch.zeros(6),
                          "exp_avg_sq": torch.zeros(6)}},
            "param_groups": [{"lr": 2e-4, "betas": (0.9, 0.999), "eps": 1e-8,
                              "weight_decay": 0, "amsgrad": False, "maximize": False,
                              "foreach": None, "capturable": False, "params": [0]}]}],
        "lr_schedulers": [],
    }
    ckpt.update(extra or {})
    return ckpt


def run_converter(*args):
    return subprocess.run([sys.executable, CONVERTER, *args], capture_output=True, text=True,
                          check=False)


class ConverterTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        torch.manual_seed(1234)
        self.model = ref.MW2StackRNNPoolingMultihead().eval()

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.dir, name)

    def save(self, obj, name="in.ckpt"):
        torch.save(obj, self.path(name))
        return self.path(name)

    def assert_refused(self, result, *needles):
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        for n in needles:
            self.assertIn(n, result.stderr)
        self.assertFalse(os.path.exists(self.path("out.safetensors")))

    def test_lightning_checkpoint_converts_exactly(self):
        src = self.save(lightning_checkpoint(self.model))
        r = run_converter(src, "-o", self.path("out.safetensors"))
        self.assertEqual(r.returncode, 0, r.stderr)
        meta, tensors = ref.read_safetensors(self.path("out.safetensors"))
        self.assertEqual(meta["primus.format"], "primus-encoder-1")
        self.assertEqual(meta["primus.epoch"], "14")
        sd = self.model.state_dict()
        self.assertEqual(list(tensors), list(sd))
        for k, v in sd.items():
            np.testing.assert_array_equal(tensors[k], v.numpy(), err_msg=k)
        self.assertEqual(sum(t.size for t in tensors.values()), 1376204)
        self.assertRegex(r.stdout, "loaded with (weights_only=True|allowlist unpickler)")
        self.assertIn("dropped state_dict 'text_encoder.text_model.*'", r.stdout)
        self.assertIn("dropped state_dict 'video_encoder.video_model.*'", r.stdout)
        self.assertIn("dropped state_dict 'mmcl_loss.temperature'", r.stdout)
        self.assertIn("dropped checkpoint entry 'optimizer_states'", r.stdout)
        size = os.path.getsize(self.path("out.safetensors"))
        self.assertIn(f"-> {size} bytes", r.stdout)
        self.assertLess(abs(size - 1376204 * 4), 4096)

    def test_plain_encoder_state_dict_converts(self):
        src = self.save(self.model.state_dict(), "x_src_encoder.pt")
        r = run_converter(src, "-o", self.path("out.safetensors"))
        self.assertEqual(r.returncode, 0, r.stderr)
        _, tensors = ref.read_safetensors(self.path("out.safetensors"))
        np.testing.assert_array_equal(tensors["mmcl_head.weight"],
                                      self.model.mmcl_head.weight.detach().numpy())

    def test_single_head_variant_is_refused_clearly(self):
        single = ref.MW2StackRNNPooling()
        for obj in (lightning_checkpoint(single), single.state_dict()):
            self.assert_refused(run_converter(self.save(obj), "-o", self.path("out.safetensors")),
                                "MW2StackRNNPooling checkpoint", "'net.*'")

    def test_missing_wrong_shape_nan_and_foreign_files_are_refused(self):
        sd = self.model.state_dict()
        del sd["backbone.5.bias_hh_l0"]
        self.assert_refused(run_converter(self.save(sd), "-o", self.path("out.safetensors")),
                            "tensor 'backbone.5.bias_hh_l0': missing")
        sd = self.model.state_dict()
        sd["backbone.1.net.0.weight"] = torch.zeros(32, 6, 9)
        self.assert_refused(run_converter(self.save(sd), "-o", self.path("out.safetensors")),
                            "tensor 'backbone.1.net.0.weight': shape [32, 6, 9], expected [32, 6, 10]")
        sd = self.model.state_dict()
        sd["ssl_head.bias"] = torch.full((512,), float("nan"))
        self.assert_refused(run_converter(self.save(sd), "-o", self.path("out.safetensors")),
                            "tensor 'ssl_head.bias': contains NaN")
        sd = self.model.state_dict()
        sd["backbone.0.weight"] = torch.ones(6, dtype=torch.int64)
        self.assert_refused(run_converter(self.save(sd), "-o", self.path("out.safetensors")),
                            "tensor 'backbone.0.weight': dtype torch.int64")
        ckpt = lightning_checkpoint(self.model)
        ckpt["state_dict"]["imu_encoder.extra.weight"] = torch.zeros(1)
        self.assert_refused(run_converter(self.save(ckpt), "-o", self.path("out.safetensors")),
                            "tensor 'extra.weight': unexpected")
        ckpt = lightning_checkpoint(self.model)
        ckpt["state_dict"] = {k: v for k, v in ckpt["state_dict"].items()
                              if not k.startswith("imu_encoder.")}
        self.assert_refused(run_converter(self.save(ckpt), "-o", self.path("out.safetensors")),
                            "no 'imu_encoder.*' tensors")
        with open(self.path("junk.ckpt"), "wb") as f:
            f.write(os.urandom(4096))
        self.assert_refused(run_converter(self.path("junk.ckpt"), "-o",
                                          self.path("out.safetensors")), "refused")

    def test_arbitrary_pickled_objects_need_the_explicit_flag(self):
        ckpt = lightning_checkpoint(self.model, {"hyper_parameters": argparse.Namespace(lr=2e-4)})
        src = self.save(ckpt)
        self.assert_refused(run_converter(src, "-o", self.path("out.safetensors")),
                            "global 'argparse.Namespace' is not allowed", "--allow-unsafe-pickle")
        r = run_converter(src, "-o", self.path("out.safetensors"), "--allow-unsafe-pickle")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("unsafe pickle", r.stdout)

    def test_code_in_a_pickle_never_runs(self):
        marker = self.path("pwned")

        class Evil:
            def __reduce__(self):
                return (os.system, (f"touch {marker}",))

        src = self.save(lightning_checkpoint(self.model, {"x": Evil()}))
        self.assert_refused(run_converter(src, "-o", self.path("out.safetensors")),
                            "is not allowed")
        self.assertFalse(os.path.exists(marker))

    @unittest.skipUnless(PARITY_EMBED, "PRIMUS_PARITY_EMBED not set")
    def test_parity_python_vs_cpp(self):
        torch.set_num_threads(1)
        src = self.save(lightning_checkpoint(self.model))
        r = run_converter(src, "-o", self.path("enc.safetensors"))
        self.assertEqual(r.returncode, 0, r.stderr)
        gen = torch.Generator().manual_seed(99)
        inputs = {}
        for length in (123, 200, 250, 1000):
            for batch in (1, 3, 8):
                acc = torch.randn(batch, 3, length, generator=gen) * 3.0
                acc[:, 2] += 9.81  # gravity on z, as a worn IMU sees it
                gyro = torch.randn(batch, 3, length, generator=gen) * 1.5
                inputs[f"x_{batch}_{length}"] = torch.cat([acc, gyro], 1)
        ref.write_safetensors(self.path("in.safetensors"),
                              {k: v.numpy() for k, v in inputs.items()})
        r = subprocess.run([PARITY_EMBED, self.path("enc.safetensors"), self.path("in.safetensors"),
                            self.path("out.safetensors")], capture_output=True, text=True,
                           check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        _, got = ref.read_safetensors(self.path("out.safetensors"))
        worst = {"emb": (0.0, ""), "ssl": (0.0, ""), "mmcl": (0.0, "")}
        with torch.inference_mode():
            for name, x in inputs.items():
                want = self.model(x)
                for out in worst:
                    diff = float(np.abs(got[f"{out}/{name}"] - want[out].numpy()).max())
                    self.assertGreater(float(np.abs(want[out].numpy()).max()), 1e-3)
                    if diff >= worst[out][0]:
                        worst[out] = (diff, name)
        report = ", ".join(f"{k} {v[0]:.3g} ({v[1]})" for k, v in worst.items())
        print(f"\nparity worst |python - c++|: {report}", file=sys.stderr)
        for out, (diff, name) in worst.items():
            self.assertLess(diff, TOLERANCE, f"{out} at {name}")


if __name__ == "__main__":
    unittest.main()
