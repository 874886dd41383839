"""The baseline: what a user writes by hand to get an int8 .tflite with TensorFlow.

Usage: plain_tflite_int8.py MODEL.keras CALIB.npz OUT.tflite
"""

import sys

import keras
import numpy as np
import tensorflow as tf

model = keras.models.load_model(sys.argv[1], compile=False)
calib = np.load(sys.argv[2])["x"][:100].astype(np.float32)


def representative():
    for x in calib:
        yield [x[None]]


conv = tf.lite.TFLiteConverter.from_keras_model(model)
conv.optimizations = [tf.lite.Optimize.DEFAULT]
conv.representative_dataset = representative
conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
conv.inference_input_type = tf.int8
conv.inference_output_type = tf.int8
with open(sys.argv[3], "wb") as f:
    f.write(conv.convert())
