"""keras.layers: Keras 3's layers on ember (channels_last images, Keras' weight layouts and defaults)."""
from .base import Input, InputLayer, KerasTensor, Layer
from .conv import Conv2D, Conv2DTranspose
from .core import (Activation, Add, Concatenate, Dense, Dropout, Embedding, Flatten, LeakyReLU, ReLU, Reshape,
                   Softmax)
from .extra import Average, Lambda, LayerNormalization, Multiply, Subtract, UpSampling2D, ZeroPadding2D
from .normalization import BatchNormalization
from .pooling import AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D
from .rnn import GRU, LSTM, SimpleRNN

Convolution2D = Conv2D
MaxPool2D, AvgPool2D, GlobalAvgPool2D, GlobalMaxPool2D = (MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D,
                                                          GlobalMaxPooling2D)

__all__ = ["Input", "InputLayer", "KerasTensor", "Layer", "Conv2D", "Conv2DTranspose", "Activation", "Add",
           "Concatenate", "Dense", "Dropout", "Embedding", "Flatten", "LeakyReLU", "ReLU", "Reshape", "Softmax",
           "BatchNormalization", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "MaxPooling2D",
           "GRU", "LSTM", "SimpleRNN", "Average", "Lambda", "LayerNormalization", "Multiply", "Subtract",
           "UpSampling2D", "ZeroPadding2D", "Convolution2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D",
           "GlobalMaxPool2D"]
