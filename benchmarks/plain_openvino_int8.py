"""The baseline: convert a Keras model to OpenVINO IR and quantize it with NNCF by hand.

Usage: plain_openvino_int8.py MODEL.keras CALIB.npz OUT.xml
"""

import sys

import keras
import nncf
import numpy as np
import openvino as ov

model = keras.models.load_model(sys.argv[1], compile=False)
calib = np.load(sys.argv[2])["x"][:100].astype(np.float32)
ov_model = ov.convert_model(model, input=[1, *model.inputs[0].shape[1:]])
quantized = nncf.quantize(ov_model, nncf.Dataset([x[None] for x in calib]), subset_size=len(calib))
ov.save_model(quantized, sys.argv[3])
