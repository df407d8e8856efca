"""The Patches panel's parts: the grid of top-activating patches and one patch's detail."""
