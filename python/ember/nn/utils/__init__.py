"""ember.nn.utils, as torch.nn.utils: gradient clipping, parameters_to_vector, and rnn (packed sequences)."""
from . import rnn
from .clip_grad import clip_grad_norm_, clip_grad_value_, parameters_to_vector
