"""ember.testing: finite-difference gradient checks."""
from .gradcheck import gradcheck, numerical_grad
