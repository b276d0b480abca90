"""ember.optim: optimizers (one fused update kernel each) and learning-rate schedulers."""
from . import lr_scheduler
from .adam import Adam, AdamW
from .optimizer import Optimizer
from .rmsprop import Adagrad, RMSprop
from .sgd import SGD

# ---- Adadelta, LBFGS ----
from .adadelta import Adadelta
from .lbfgs import LBFGS
