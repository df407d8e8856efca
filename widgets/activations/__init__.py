"""The Activations panel's parts: its pictures as arrays, and the dead / saturated units plot."""
