#!/usr/bin/python3
"""Convert a PRIMUS checkpoint into a primusd encoder weight file (safetensors).

Input: the Lightning .ckpt written by PRIMUS pretraining.py (state_dict keys imu_encoder.*,
plus the frozen CLIP4Clip text/video models, loss temperatures, optimizer state, ...), or the
plain encoder state dict `<id>_src_encoder.pt` (keys backbone.*, ssl_head.*, mmcl_head.*).
Output: the 15 tensors of MW2StackRNNPoolingMultihead as little-endian float32 safetensors,
named as in the Python state dict, with metadata primus.format = "primus-encoder-1".

Loading never runs code from the file: torch.load(weights_only=True) first; if that fails
(PyTorch 1.13, Debian 12's python3-torch, cannot unpickle floats, which every Lightning
checkpoint holds) torch.load with an unpickler that resolves only the same allowlist of globals.
A file naming any other global is refused unless --allow-unsafe-pickle is given (full
unpickling can execute code: use it only for files you trust).

Exit status: 0 converted, 1 refused (message on stderr), 2 usage error.
Usage: /usr/bin/python3 tools/convert_primus_ckpt.py IN.ckpt -o OUT.safetensors
"""

import argparse
import collections
import inspect
import json
import os
import pickle
import struct
import sys
import tempfile
import types

CONVERTER_VERSION = "1"
ENCODER_FORMAT = "primus-encoder-1"

# Name -> shape, in the Python state-dict order (PRIMUS.md section 1).
EXPECTED = collections.OrderedDict([
    ("backbone.0.weight", (6,)),
    ("backbone.0.bias", (6,)),
    ("backbone.1.net.0.weight", (32, 6, 10)),
    ("backbone.2.net.0.weight", (32, 32, 5)),
    ("backbone.3.net.0.weight", (32, 32, 5)),
    ("backbone.4.weight", (32,)),
    ("backbone.4.bias", (32,)),
    ("backbone.5.weight_ih_l0", (1536, 32)),
    ("backbone.5.weight_hh_l0", (1536, 512)),
    ("backbone.5.bias_ih_l0", (1536,)),
    ("backbone.5.bias_hh_l0", (1536,)),
    ("ssl_head.weight", (512, 512)),
    ("ssl_head.bias", (512,)),
    ("mmcl_head.weight", (512, 512)),
    ("mmcl_head.bias", (512,)),
])

LIGHTNING_PREFIX = "imu_encoder."


class Refused(Exception):
    """The input cannot be converted; the message says why."""


def _import_torch():
    try:
        import torch  # noqa: PLC0415
    except ImportError as e:
        raise Refused(f"PyTorch is not importable ({e}); on Debian use /usr/bin/python3 with "
                      "the python3-torch package") from e
    return torch


class ForbiddenGlobal(pickle.UnpicklingError):
    """The pickle names a callable outside the allowlist."""


def _restricted_pickle_module(torch):
    """A pickle module for torch's checkpoint loader whose Unpickler only resolves the
    globals that torch's own weights_only unpickler allows (tensor rebuild functions, storages,
    dtypes, OrderedDict, torch.Size); every other global raises ForbiddenGlobal, so no other
    callable can run. This is the "restricting globals" pattern of the pickle documentation, and
    unlike torch 1.13's weights_only unpickler it understands every pickle opcode (1.13 cannot
    read a pickled float, which every Lightning checkpoint holds)."""
    from torch import _weights_only_unpickler  # noqa: PLC0415

    allowed = dict(_weights_only_unpickler._get_allowed_globals())  # pylint: disable=protected-access

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            full = f"{module}.{name}"
            if full in allowed:
                return allowed[full]
            raise ForbiddenGlobal(f"global '{full}' is not allowed")

    def load(f, **kwargs):
        return Unpickler(f, **kwargs).load()

    return types.SimpleNamespace(Unpickler=Unpickler, load=load, __name__="primus_restricted")


def _load_with_allowlist(torch, path):
    # torch.load ignores pickle_module= when weights_only is False (torch 1.13), so call the
    # zip-format loader behind it directly with the restricted module.
    ser = torch.serialization
    with open(path, "rb") as f:
        if not ser._is_zipfile(f):  # pylint: disable=protected-access
            raise ForbiddenGlobal("legacy (pre-1.6) serialization format")
        with ser._open_zipfile_reader(f) as zf:  # pylint: disable=protected-access
            return ser._load(zf, "cpu", _restricted_pickle_module(torch),  # pylint: disable=protected-access
                             encoding="utf-8")


def load_checkpoint(path, allow_unsafe_pickle):
    """Returns (object, how it was loaded). Tries torch.load(weights_only=True), then the
    allowlist unpickler, then (only with allow_unsafe_pickle) full unpickling."""
    torch = _import_torch()
    if "weights_only" in inspect.signature(torch.load).parameters:
        try:
            return torch.load(path, map_location="cpu", weights_only=True), "weights_only=True"
        except Exception:  # noqa: BLE001  (1.13 fails on floats; the allowlist loader decides)
            pass
    try:
        return (_load_with_allowlist(torch, path),
                "allowlist unpickler (tensors and plain containers only)")
    except ForbiddenGlobal as e:
        if not allow_unsafe_pickle:
            raise Refused(
                f"{path}: holds pickled objects other than tensors and plain containers ({e}), "
                "so it cannot be loaded safely. If you trust this file, re-run with "
                "--allow-unsafe-pickle (unpickling can execute code).") from e
    except Exception as e:  # noqa: BLE001
        raise Refused(f"{path}: not a readable PyTorch checkpoint: {e}") from e
    print("warning: loading with full unpickling (--allow-unsafe-pickle)", file=sys.stderr)
    try:
        return torch.load(path, map_location="cpu"), "unsafe pickle"
    except Exception as e:  # noqa: BLE001
        raise Refused(f"{path}: not a readable PyTorch checkpoint: {e}") from e


def _is_tensor(x):
    torch = _import_torch()
    return isinstance(x, torch.Tensor)


def extract_encoder(obj):
    """Returns (encoder_state: dict name->tensor, dropped: list of (what, count), kind)."""
    if not isinstance(obj, dict):
        raise Refused(f"not a checkpoint: top-level object is a {type(obj).__name__}, "
                      "expected a dict")
    dropped = []
    if "state_dict" in obj and isinstance(obj["state_dict"], dict):
        kind = "lightning"
        state = obj["state_dict"]
        for key in obj:
            if key != "state_dict":
                dropped.append((f"checkpoint entry '{key}'", 1))
        keys = [k for k in state if isinstance(k, str)]
        if any(k.startswith(LIGHTNING_PREFIX + "net.") for k in keys):
            raise_single_head()
        encoder = {k[len(LIGHTNING_PREFIX):]: v for k, v in state.items()
                   if isinstance(k, str) and k.startswith(LIGHTNING_PREFIX)}
        if not encoder:
            raise Refused("the checkpoint's state_dict has no 'imu_encoder.*' tensors: not a "
                          "PRIMUS pretraining checkpoint")
        groups = collections.Counter()
        for k in state:
            if not (isinstance(k, str) and k.startswith(LIGHTNING_PREFIX)):
                parts = str(k).split(".")
                groups[".".join(parts[:2]) + ".*" if len(parts) > 2 else str(k)] += 1
        dropped.extend((f"state_dict '{g}'", n) for g, n in sorted(groups.items()))
    elif obj and all(isinstance(k, str) for k in obj) and all(_is_tensor(v) for v in obj.values()):
        kind = "state_dict"
        if any(k.startswith("net.") for k in obj):
            raise_single_head()
        encoder = dict(obj)
    else:
        raise Refused("neither a Lightning checkpoint (no 'state_dict') nor a plain encoder "
                      "state dict (name -> tensor)")
    return encoder, dropped, kind


def raise_single_head():
    raise Refused(
        "this is a MW2StackRNNPooling checkpoint (keys 'net.*', no ssl_head/mmcl_head): primusd "
        "runs MW2StackRNNPoolingMultihead (keys 'backbone.*', 'ssl_head.*', 'mmcl_head.*'), whose "
        "mmcl/ssl outputs the downstream heads use. The two are not interchangeable; convert a "
        "checkpoint trained with the multihead encoder (pretraining.py --multihead).")


def check_and_collect(encoder):
    torch = _import_torch()
    missing = [k for k in EXPECTED if k not in encoder]
    if missing:
        raise Refused(f"tensor '{missing[0]}': missing (and {len(missing) - 1} more)"
                      if len(missing) > 1 else f"tensor '{missing[0]}': missing")
    unexpected = [k for k in encoder if k not in EXPECTED]
    if unexpected:
        raise Refused(f"tensor '{unexpected[0]}': unexpected in a MW2StackRNNPoolingMultihead "
                      "encoder")
    out = collections.OrderedDict()
    for name, shape in EXPECTED.items():
        t = encoder[name]
        if not _is_tensor(t):
            raise Refused(f"tensor '{name}': is a {type(t).__name__}, not a tensor")
        if tuple(t.shape) != shape:
            raise Refused(f"tensor '{name}': shape {list(t.shape)}, expected {list(shape)}")
        if not t.is_floating_point():
            raise Refused(f"tensor '{name}': dtype {t.dtype}, expected a floating-point tensor")
        t32 = t.detach().to(torch.float32).contiguous()
        if not bool(torch.isfinite(t32).all()):
            raise Refused(f"tensor '{name}': contains NaN or Inf")
        out[name] = t32
    return out


def safetensors_bytes(tensors, metadata):
    header = {"__metadata__": dict(metadata)}
    offset = 0
    blobs = []
    for name, t in tensors.items():
        blob = t.numpy().astype("<f4", copy=False).tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def write_atomic(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def convert(src, dst, allow_unsafe_pickle=False, out=sys.stdout):
    torch = _import_torch()
    obj, how = load_checkpoint(src, allow_unsafe_pickle)
    encoder, dropped, kind = extract_encoder(obj)
    tensors = check_and_collect(encoder)
    metadata = {
        "primus.format": ENCODER_FORMAT,
        "primus.variant": "MW2StackRNNPoolingMultihead",
        "primus.source": os.path.basename(src),
        "primus.converter": f"convert_primus_ckpt.py {CONVERTER_VERSION}, torch {torch.__version__}",
    }
    for key in ("epoch", "global_step"):
        if kind == "lightning" and isinstance(obj.get(key), int):
            metadata[f"primus.{key}"] = str(obj[key])
    data = safetensors_bytes(tensors, metadata)
    write_atomic(dst, data)
    params = sum(t.numel() for t in tensors.values())
    print(f"read {src} ({kind}, loaded with {how})", file=out)
    print(f"kept {len(tensors)} encoder tensors, {params} parameters", file=out)
    for what, n in dropped:
        print(f"dropped {what}" + (f": {n} tensors" if n > 1 else ""), file=out)
    before = os.path.getsize(src)
    print(f"size: {before} bytes -> {len(data)} bytes ({dst})", file=out)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="PRIMUS Lightning .ckpt or plain encoder state dict .pt")
    p.add_argument("-o", "--output", required=True, help="output .safetensors file")
    p.add_argument("--allow-unsafe-pickle", action="store_true",
                   help="fall back to full unpickling (can execute code: trusted files only)")
    args = p.parse_args(argv)
    try:
        return convert(args.checkpoint, args.output, args.allow_unsafe_pickle)
    except Refused as e:
        print(f"convert_primus_ckpt: refused: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"convert_primus_ckpt: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
