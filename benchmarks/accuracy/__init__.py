"""Accuracy benchmark: the FLamby heart federation and VGG on dermoscopy patch pairs."""
