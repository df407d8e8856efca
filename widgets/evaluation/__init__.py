"""The Evaluation panel's views: the confusion matrix and the segmentation masks."""
