"""ember.keras: Keras 3's API on ember: `from ember import keras` and Keras code runs as written.

    from ember import keras
    from ember.keras import layers
    model = keras.Sequential([keras.Input(shape=(28, 28, 1)),
                              layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
                              layers.MaxPooling2D(pool_size=(2, 2)),
                              layers.Flatten(),
                              layers.Dense(10, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=15, validation_split=0.1)

Images are channels_last (NHWC) as in Keras; weights are in Keras' layouts (get_weights/set_weights);
defaults (initialisers, optimizer rates and epsilons, BatchNormalization momentum/epsilon, LeakyReLU slope)
are Keras'.
"""
from . import (activations, backend, callbacks, datasets, initializers, layers, losses, metrics, models, optimizers,
               regularizers, saving, utils)
from .layers import Input, InputLayer, Layer
from .models import Model, Sequential

__version__ = "3.15.1"  # the Keras API this follows

__all__ = ["activations", "backend", "callbacks", "datasets", "initializers", "layers", "losses", "metrics", "models",
           "optimizers", "regularizers", "saving", "utils", "Input", "InputLayer", "Layer", "Model", "Sequential"]
