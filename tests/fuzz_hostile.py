"""Hostile inputs for the fuzzer: model files that try to run code, output paths that try to
make edgekit delete or overwrite what is not its own, and gate options that try to make a
gate pass that must fail.

Every payload aims at one canary file; if it exists after a case, code from a model file
ran (outcome ``code``). Files the user owns are hashed before and after (outcome ``harm``).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import zipfile
from pathlib import Path

import numpy as np

from tests.conftest import EXAMPLE
from tests.fuzz_judge import Outcome, judge, run_cli, stray, validated

# TensorFlow functions a TFOpLambda may name that touch files, load libraries, call Python,
# or print; mixed with harmless ones so the property also sees models that should load.
_TF_HARMFUL = ["io.write_file", "io.read_file", "load_op_library", "load_library", "print", "py_function",
               "numpy_function", "compat.v1.py_func", "io.matching_files", "io.gfile.remove", "raw_ops.WriteFile",
               "raw_ops.ReadFile", "raw_ops.PrintV2", "raw_ops.Save", "raw_ops.SaveV2", "summary.create_file_writer",
               "saved_model.save", "debugging.experimental.enable_dump_debug_info", "keras.utils.get_file",
               "data.TextLineDataset", "raw_ops.DeleteSessionTensor", "strings.format", "__builtins__.exec",
               "io.gfile.makedirs", "random.set_seed"]  # fmt: skip
# Keyword arguments that make the call succeed when the first argument is the canary path.
_RECIPES = {"io.write_file": {"contents": "pwned"}, "print": {"output_stream": "CANARY_URL"}, "io.gfile.GFile": {"mode": "w"},
            "strings.format": {"inputs": []}, "io.gfile.makedirs": {}, "load_op_library": {}, "io.read_file": {},
            "io.matching_files": {}, "summary.create_file_writer": {}}  # fmt: skip
_TF_HARMLESS = ["math.add", "math.multiply", "reshape", "nn.relu", "math.reduce_mean", "concat", "transpose"]
# Python callables a Keras 3 config.json entry may try to name through module/class_name.
_PY_TARGETS = [("os", "system"), ("subprocess", "Popen"), ("builtins", "exec"), ("builtins", "eval"),
               ("keras.utils", "get_file"), ("keras.src.utils.file_utils", "get_file"), ("shutil", "rmtree"),
               ("importlib", "import_module"), ("tensorflow.io", "write_file"), ("numpy", "save"),
               ("keras.saving", "load_model"), ("keras.src.backend", "set_floatx"), ("pathlib", "Path"),
               ("tensorflow", "load_op_library"), ("keras.layers", "Dense"), ("keras.activations", "relu")]  # fmt: skip


def _canary_values(canary: Path, rng: random.Random):
    return rng.choice([str(canary), f"file://{canary}", [str(canary)], {"filename": str(canary)}, "pwned",
                       f"import os; open({str(canary)!r}, 'w')", 1, None])  # fmt: skip


def _kwargs(canary: Path, rng: random.Random) -> dict:
    keys = ["filename", "contents", "library_filename", "output_stream", "path", "command", "source", "fname",
            "origin", "logdir", "tensor_names", "name", "y", "x", "func", "inp", "Tout"]  # fmt: skip
    return {k: _canary_values(canary, rng) for k in rng.sample(keys, rng.randint(1, 5))}


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(root: Path) -> dict[str, str]:
    """Every file below ``root`` (not following symlinks) and its content hash."""
    out = {}
    for dirpath, _dirs, files in os.walk(root, followlinks=False):
        for f in files:
            p = Path(dirpath) / f
            if not p.is_symlink():
                out[str(p.relative_to(root))] = file_digest(p)
    return out


# -- model files that try to run code -----------------------------------------------------------
def base_h5(work: Path) -> Path:
    """A small tf_keras functional model with TFOpLambda/SlicingOpLambda layers, as .h5."""
    path = work / "hostile_base.h5"
    if not path.exists():
        import tensorflow as tf
        import tf_keras as K

        inp = K.Input((4,), name="x")
        x = K.layers.Dense(4, name="dense")(inp)
        x = tf.math.add(x, 1.0)
        x = x[:, :2]
        K.Model(inp, x).save(path)
    return path


def hostile_h5(rng: random.Random, base: Path, dest: Path, canary: Path) -> str:
    """``base`` with its architecture JSON rewritten to call something it should not."""
    import h5py

    shutil.copy(base, dest)
    with h5py.File(dest, "r+") as f:
        cfg = json.loads(f.attrs["model_config"])
        layers = cfg["config"]["layers"]
        kind = rng.choice(["tfop"] * 5 + ["slicing", "activation", "lambda", "class"])
        op = next(la for la in layers if la["class_name"] == "TFOpLambda")
        if kind in ("tfop", "slicing"):
            target = op if kind == "tfop" else next(la for la in layers if la["class_name"] == "SlicingOpLambda")
            r = rng.random()
            fn = rng.choice(sorted(_RECIPES) if r < 0.5 else _TF_HARMFUL if r < 0.8 else _TF_HARMLESS)
            target["config"]["function"] = fn
            node = target["inbound_nodes"][0]
            node[3] = _RECIPES.get(fn, {}) if rng.random() < 0.8 else _kwargs(canary, rng)
            node[3] = {k: (f"file://{canary}" if v == "CANARY_URL" else v) for k, v in node[3].items()}
            if rng.random() < 0.8:  # tf_keras calls the function on a constant from the file while loading
                node[:3] = ["_CONSTANT_VALUE", -1, _canary_values(canary, rng) if rng.random() < 0.1 else str(canary)]
            case = f"{kind}:{fn}"
        elif kind == "activation":
            dense = next(la for la in layers if la["class_name"] == "Dense")
            mod, name = rng.choice(_PY_TARGETS)
            dense["config"]["activation"] = rng.choice([f"{mod}.{name}", name,
                                                        {"class_name": name, "module": mod, "config": _kwargs(canary, rng)}])  # fmt: skip
            case = f"activation:{mod}.{name}"
        elif kind == "lambda":
            import base64
            import marshal

            code = compile(f"open({str(canary)!r}, 'w').write('pwned')", "<payload>", "exec")
            blob = base64.b64encode(marshal.dumps(code)).decode()
            op["class_name"] = "Lambda"
            op["config"] = {"name": op["config"]["name"], "function": [blob, None, None], "function_type": "lambda",
                            "module": "builtins", "output_shape": None, "arguments": {}}  # fmt: skip
            case = "lambda"
        else:
            mod, name = rng.choice(_PY_TARGETS)
            op["class_name"] = name
            op["config"]["module"] = mod
            op["module"] = mod
            case = f"class:{mod}.{name}"
        f.attrs["model_config"] = json.dumps(cfg)
    return f"h5 {case}"


def base_keras(work: Path) -> Path:
    path = work / "hostile_base.keras"
    if not path.exists():
        import keras

        inp = keras.Input((4,), name="x")
        out = keras.layers.Dense(2, activation="relu", name="dense")(keras.layers.Dense(4, name="d0")(inp))
        keras.Model(inp, out).save(path)
    return path


def _dict_nodes(node, found: list) -> list:
    if isinstance(node, dict):
        found.append(node)
        for v in node.values():
            _dict_nodes(v, found)
    elif isinstance(node, list):
        for v in node:
            _dict_nodes(v, found)
    return found


def hostile_keras(rng: random.Random, base: Path, dest: Path, canary: Path) -> str:
    """``base`` (.keras zip) with config.json entries naming foreign modules and callables."""
    with zipfile.ZipFile(base) as z:
        members = {n: z.read(n) for n in z.namelist()}
    cfg = json.loads(members["config.json"])
    nodes = [n for n in _dict_nodes(cfg, []) if "class_name" in n]
    victim = rng.choice(nodes)
    mod, name = rng.choice(_PY_TARGETS)
    victim["module"] = mod
    victim["class_name"] = name
    if rng.random() < 0.5:
        victim["registered_name"] = rng.choice([name, f"{mod}>{name}", None])
    victim["config"] = _kwargs(canary, rng) if rng.random() < 0.7 else victim.get("config", {})
    members["config.json"] = json.dumps(cfg).encode()
    with zipfile.ZipFile(dest, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return f"keras {mod}.{name}"


def _hostile_modules(canary: Path):
    """(name, tf.Module) pairs whose loading or serving touches the canary."""
    import tensorflow as tf

    spec = [tf.TensorSpec([1, 4], tf.float32, name="x")]
    c = str(canary)

    class Base(tf.Module):
        def __init__(self):
            super().__init__()
            self.w = tf.Variable(tf.ones([4, 2]))

    class WriteOnInit(tf.saved_model.experimental.TrackableResource):
        def _create_resource(self):
            return tf.raw_ops.VarHandleOp(dtype=tf.float32, shape=[], shared_name="")

        def _initialize(self):
            tf.io.write_file(c, "pwned")
            return tf.raw_ops.AssignVariableOp(resource=self.resource_handle, value=1.0)

    def serving(body):
        m = Base()
        m.f = tf.function(lambda x: body(m, x), input_signature=spec)
        return m

    def write(m, x):
        tf.io.write_file(c, "pwned")
        return {"y": tf.matmul(x, m.w)}

    def printer(m, x):
        tf.print(x, output_stream=f"file://{c}")
        return {"y": tf.matmul(x, m.w)}

    def saver(m, x):
        tf.raw_ops.Save(filename=c, tensor_names=["x"], data=[x])
        return {"y": tf.matmul(x, m.w)}

    def reader(m, x):
        n = tf.strings.length(tf.io.read_file("/etc/hostname"))
        return {"y": tf.matmul(x, m.w) + tf.cast(n, tf.float32)}

    def plain(m, x):
        return {"y": tf.matmul(x, m.w)}

    yield "serving-write", serving(write)
    yield "serving-print", serving(printer)
    yield "serving-save", serving(saver)
    yield "serving-read", serving(reader)
    init = serving(plain)
    init.res = WriteOnInit()
    yield "init-write", init
    yield "plain", serving(plain)


def hostile_saved_models(work: Path, canary: Path) -> dict[str, Path]:
    """Build the hostile SavedModels once (names -> directories)."""
    import tensorflow as tf

    root = work / "hostile_saved_models"
    if root.exists():
        return {p.name: p for p in sorted(root.iterdir())}
    root.mkdir()
    out = {}
    for name, module in _hostile_modules(canary):
        path = root / name
        tf.saved_model.save(module, str(path), signatures={"serving_default": module.f})
        out[name] = path
    if canary.exists():  # saving traced the functions; only loading must not touch it
        canary.unlink()
    return out


# Op types that must never run from an untrusted graph, grafted onto ordinary nodes.
_GRAPH_OPS = ["WriteFile", "ReadFile", "PrintV2", "Save", "SaveV2", "MergeV2Checkpoints", "PyFunc", "EagerPyFunc",
              "MatchingFiles", "CreateSummaryFileWriter", "WriteSummary", "ImmutableConst", "FixedLengthRecordDatasetV2",
              "TextLineDatasetV2", "DebugIdentityV2", "Print"]  # fmt: skip


def hostile_saved_model(rng: random.Random, models: dict[str, Path], dest: Path, canary: Path) -> str:
    """A copy of one hostile SavedModel, perhaps with a node's op type swapped for a harmful one."""
    name = rng.choice(sorted(models))
    shutil.copytree(models[name], dest)
    if rng.random() < 0.4:
        from tensorflow.core.protobuf import saved_model_pb2

        sm = saved_model_pb2.SavedModel()
        pb = dest / "saved_model.pb"
        sm.ParseFromString(pb.read_bytes())
        graph = sm.meta_graphs[0].graph_def
        pools = [graph.node] + [f.node_def for f in graph.library.function]
        pool = rng.choice([p for p in pools if len(p)])
        node = rng.choice(list(pool))
        op = rng.choice(_GRAPH_OPS)
        node.op = op
        pb.write_bytes(sm.SerializeToString())
        return f"saved_model {name} node->{op}"
    return f"saved_model {name}"


class HostileCases:
    """The Fuzzer's hostile commands (mixed into ``tests.fuzzing.Fuzzer``, which owns the
    fixtures: ``work``, ``build``, ``eval``, ``source``, ``canary``, ``timeout``)."""

    def _hostile_base(self, kind: str):
        if kind not in self._hostile:
            self._hostile[kind] = {"h5": base_h5, "keras": base_keras}[kind](self.work) if kind != "sm" \
                else hostile_saved_models(self.work, self.canary)  # fmt: skip
        return self._hostile[kind]

    def _hostile_run(self, d: Path, rng: random.Random, model: Path, case: str) -> Outcome:
        """inspect, export (with calibration and evaluation) or validate of a hostile model."""
        how = rng.choice(["inspect", "export", "validate"])
        out = d / "build"
        if how == "inspect":
            args = ["inspect", model]
        elif how == "export":
            x = d / "x.npz"
            np.savez(x, x=np.ones((4, 4), np.float32))
            args = ["export", model, "-q", "float32", "--calib", x, "--eval", x, "-o", out, "--no-latency"]
        else:  # a copied build whose manifest names the hostile file as its source
            shutil.copytree(self.build, out)
            args = ["validate", out, "--eval", self.eval, "--model", model]
        code, text, exc = run_cli(args, self.timeout)
        return judge(f"{how} {case}", code, text, exc, stray(d))

    def _hostile_h5(self, d, rng):
        model = d / "model.h5"
        return self._hostile_run(d, rng, model, hostile_h5(rng, self._hostile_base("h5"), model, self.canary))

    def _hostile_keras(self, d, rng):
        model = d / "model.keras"
        return self._hostile_run(d, rng, model, hostile_keras(rng, self._hostile_base("keras"), model, self.canary))

    def _hostile_saved_model(self, d, rng):
        model = d / "saved"
        return self._hostile_run(d, rng, model, hostile_saved_model(rng, self._hostile_base("sm"), model, self.canary))

    def _paths(self, d, rng):
        """Output paths that try to make a run delete or overwrite files the user owns."""
        user = d / "user"  # the user's own files: none may be deleted or changed
        (user / "data").mkdir(parents=True)
        model = user / "model.tflite"
        shutil.copy(self.source, model)
        shutil.copy(self.eval, user / "data" / "eval.npz")
        (user / "notes.txt").write_text("mine")
        kind = rng.choice(["force-user-dir", "symlink-out", "dangling", "dot", "planted", "long-name", "stale-link",
                           "model-inside", "parent"])  # fmt: skip
        cwd, args = None, None
        export = ["export", model, "-t", rng.choice(["tflite", "tflm", "tflite,tflm"]), "-q", "int8", "--calib",
                  self.eval, "--no-latency"]  # fmt: skip
        if kind == "force-user-dir":
            args = [*export, "-o", user, "--force"]
        elif kind == "parent":
            args = [*export, "-o", user / "data" / "..", "--force"]
        elif kind == "symlink-out":
            (d / "link").symlink_to(user, target_is_directory=True)
            args = [*export, "-o", d / "link", *(["--force"] if rng.random() < 0.8 else [])]
        elif kind == "dangling":
            (d / "link").symlink_to(d / "nowhere")
            args = [*export, "-o", d / "link", "--force"]
        elif kind == "dot":
            cwd, args = user, [*export, "-o", ".", "--force"]
        elif kind == "planted":  # symlinks at every temp name an older edgekit would have used
            out = d / "src"
            out.mkdir()
            for name in ("m_model_data.h", "m_model_data.c", "m_model_settings.h", "m_op_resolver.h", "m_names.json",
                         "manifest.json"):
                for pid in {os.getpid(), os.getpid() + 1}:
                    (out / f".{name}.tmp-{pid}").symlink_to(user / "notes.txt")
            args = ["header", model, "-o", out, "--name", "m", *(["--force"] if rng.random() < 0.5 else [])]
        elif kind == "long-name":
            long = user / ("m" * rng.choice([200, 231, 232, 240, 245, 248]) + ".tflite")  # 255 bytes at most
            shutil.copy(self.source, long)
            args = [*export[:1], long, *export[2:], "-o", d / "build"]
        elif kind == "stale-link":  # a planted "stale stage" of a dead pid that is a symlink to the user's dir
            (d / ".build.tmp-999999_x").symlink_to(user, target_is_directory=True)
            (d / ".build.old-999999").symlink_to(user, target_is_directory=True)
            args = [*export, "-o", d / "build", "--force"]
        else:  # the build directory holds the model and data the run reads
            args = [*export, "-o", user, "--force"]
            shutil.copytree(self.build, d / "b")
            shutil.copy(d / "b" / "manifest.json", user / "manifest.json")
        before = snapshot(user)
        old = os.getcwd()
        try:
            if cwd:
                os.chdir(cwd)
            code, text, exc = run_cli(args, self.timeout)
        finally:
            os.chdir(old)
        after = snapshot(user) if user.is_dir() else {}
        lost = [k for k, v in before.items() if after.get(k) != v]
        if lost:
            return Outcome("harm", f"paths {kind}", f"exit {code}: the user's {lost[:4]} deleted or changed")
        planted = {str(p) for p in d.rglob(".*") if p.is_symlink()}
        return judge(f"paths {kind}", code, text, exc, [p for p in stray(d) if p not in planted])

    def _digits_build(self) -> tuple[Path, float]:
        if self._digits is None:
            build = self.work / "digits_build"
            code, text, exc = run_cli(["export", EXAMPLE / "digits.keras", "-t", "tflite", "-q", "int8", "--calib",
                                       EXAMPLE / "calib.npz", "--eval", EXAMPLE / "eval.npz", "-o", build, "--force",
                                       "--no-latency"], timeout=600)  # fmt: skip
            if code != 0:
                raise RuntimeError(f"could not build the gates fixture: {text} {exc!r}")
            import json

            top1 = json.loads((build / "validation.json").read_text())["artifacts"]["tflite/int8"]["top1"]
            self._digits = build, 100 * top1
        return self._digits

    def _gates(self, d, rng):
        """Gate options, each known to be satisfiable, unsatisfiable or invalid: exit 0 only
        for a run whose every gate must pass."""
        import json

        base, top1 = self._digits_build()
        build = d / "build"
        shutil.copytree(base, build)
        (build / "validation.json").unlink()
        # The copy's relative source path no longer reaches the model: name it.
        args, must_fail, why = ["validate", build, "--eval", EXAMPLE / "eval.npz", "--model", EXAMPLE / "digits.keras"], False, []
        if rng.random() < 0.6:
            v = rng.choice([0.5, 0.95, 1, 1.0, 0, 50, 90, round(top1 - 0.5, 2), round(top1 + 0.1, 2), 100, 101, -5])
            args += ["--min-accuracy", str(v)]
            if 0 < v <= 1 or v < 0 or v > 100 or v > top1:
                must_fail, why = True, [*why, f"--min-accuracy {v} (top-1 {top1:.2f}%)"]
        if rng.random() < 0.4:
            t = rng.choice(["tflite", "tflite,tlfm", "tlfite", "", ",", "tflm", "openvino", "tflite,tflite"])
            args += ["--targets", t]
            if t not in ("tflite", "tflite,tflite"):
                must_fail, why = True, [*why, f"--targets {t!r}"]
        if rng.random() < 0.4:
            key = rng.choice(["tflite/int8", "tflite/int8", "tflite/float32", "tflm/int8"])
            value = rng.choice([top1 / 100, 1.0, "high", None, top1 / 100 - 0.01])
            path = d / "baseline.json"
            path.write_text(json.dumps({"edgekit_baseline": 1, "task": "classification", "samples": 540,
                                        "artifacts": {key: {"top1": value}}}))  # fmt: skip
            args += ["--baseline", path]
            if key != "tflite/int8" or not isinstance(value, float) or value > top1 / 100 + 0.001:
                must_fail, why = True, [*why, f"baseline {key}={value}"]
        if rng.random() < 0.2:
            args += ["--min-cosine", str(rng.choice([0.9, 0.99, 1.5, -2]))]
            must_fail |= args[-1] in ("1.5", "-2")
        code, text, exc = run_cli(args, self.timeout)
        case = "gates " + " ".join(str(a) for a in args[6:])
        if code == 0 and must_fail:
            return Outcome("gate", case, f"passed: {'; '.join(why) or 'cosine'} must fail")
        if code in (1, 2) and not must_fail and not exc:
            return Outcome("gate", case, f"exit {code} on gates that must pass: {text.strip()[-200:]}")
        return judge(case, code, text, exc, validated(build, code))

