"""Text processing for yuqing: cleaning, segmentation, sentiment."""
